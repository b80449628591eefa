//! Reviewers and their sessions. Passwords are kept only as argon2id hashes (PHC strings, the
//! RustCrypto `argon2` crate's OWASP defaults); a session is a random token whose SHA-256 is
//! stored, so a copy of the database lets no one log in, and each session has its own CSRF
//! token that every state-changing request must carry.

use std::fmt;
use std::str::FromStr;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{params, OptionalExtension};
use sighting_core::millis;
use sighting_core::wire::hex;

use super::audit_log::AuditLine;
use super::{DeskState, StateError};

/// How long a session lasts without logging in again: one working day.
pub const SESSION_MS: i64 = 12 * 3600 * 1000;
/// Password lengths accepted (bytes): long enough to resist guessing, short enough that a
/// stranger cannot make the server hash megabytes.
pub(super) const MIN_PASSWORD: usize = 12;
pub(super) const MAX_PASSWORD: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Triage sightings: review, decide, note, assign.
    Reviewer,
    /// A reviewer who also manages missing-child cases.
    CaseManager,
    /// A case manager who also manages reviewers.
    Admin,
}

impl Role {
    /// Case managers and admins change the case register and push the bulletin feed.
    pub fn manages_cases(self) -> bool {
        matches!(self, Role::CaseManager | Role::Admin)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::CaseManager => "case_manager",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = StateError;

    fn from_str(s: &str) -> Result<Self, StateError> {
        [Role::Reviewer, Role::CaseManager, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| StateError::Account(format!("{s:?} is not a role")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reviewer {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

/// A logged-in reviewer's session: the token for the cookie, the CSRF token for the pages.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub csrf: String,
    pub reviewer: Reviewer,
}

impl DeskState {
    /// Adds a reviewer with a password of at least 12 bytes.
    pub fn add_reviewer(
        &self,
        name: &str,
        password: &str,
        role: Role,
    ) -> Result<Reviewer, StateError> {
        self.add_reviewer_by(None, name, password, role)
    }

    /// Adds a reviewer, audited as `by`'s (none: the desk's command line).
    pub(super) fn add_reviewer_by(
        &self,
        by: Option<i64>,
        name: &str,
        password: &str,
        role: Role,
    ) -> Result<Reviewer, StateError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            return Err(StateError::Account(
                "a name is 1 to 64 printable characters".into(),
            ));
        }
        // Hashed before the database is touched: argon2id takes tens of milliseconds.
        let hash = hash_password(password)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO reviewers (name, password_hash, role, created_at_ms)
             VALUES (?1, ?2, ?3, ?4)",
            params![name, hash, role.as_str(), millis::now()],
        )?;
        if inserted == 0 {
            return Err(StateError::Account(format!("{name:?} exists already")));
        }
        let id = tx.last_insert_rowid();
        AuditLine::admin(by, "reviewer_added")
            .change(None, Some(name))
            .note(Some(role.as_str()))
            .write(&tx)?;
        tx.commit()?;
        Ok(Reviewer {
            id,
            name: name.to_string(),
            role,
        })
    }

    /// Checks a name and password and opens a session. A wrong name and a wrong password take
    /// the same time and get the same error.
    pub fn login(&self, name: &str, password: &str) -> Result<Session, StateError> {
        if password.len() > MAX_PASSWORD {
            return Err(StateError::Credentials);
        }
        let found = self
            .conn()
            .query_row(
                "SELECT id, name, role, password_hash FROM reviewers WHERE name = ?1 AND disabled = 0",
                [name],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?)),
            )
            .optional()?;
        let Some((id, name, role, stored)) = found else {
            // The same work as a real check, so timing does not tell which names exist.
            let _ = verify_password(password, dummy_hash());
            return Err(StateError::Credentials);
        };
        if !verify_password(password, &stored)? {
            return Err(StateError::Credentials);
        }
        let reviewer = Reviewer {
            id,
            name,
            role: role.parse()?,
        };
        let (token, csrf) = (random_token()?, random_token()?);
        let now = millis::now();
        self.conn().execute(
            "INSERT INTO sessions (token_sha256, reviewer_id, csrf_token, created_at_ms, expires_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![token_hash(&token), id, csrf, now, now + SESSION_MS],
        )?;
        Ok(Session {
            token,
            csrf,
            reviewer,
        })
    }

    /// An active reviewer by name, for the desk's own command line (whose user holds the
    /// desk's files, and so every account).
    pub fn reviewer(&self, name: &str) -> Result<Option<Reviewer>, StateError> {
        let found = self
            .conn()
            .query_row(
                "SELECT id, name, role FROM reviewers WHERE name = ?1 AND disabled = 0",
                [name],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        found
            .map(|(id, name, role)| {
                Ok(Reviewer {
                    id,
                    name,
                    role: role.parse()?,
                })
            })
            .transpose()
    }

    /// The reviewer and CSRF token of a live session, or `None`.
    pub fn session(&self, token: &str) -> Result<Option<(Reviewer, String)>, StateError> {
        let found = self
            .conn()
            .query_row(
                "SELECT r.id, r.name, r.role, s.csrf_token FROM sessions s
                 JOIN reviewers r ON r.id = s.reviewer_id
                 WHERE s.token_sha256 = ?1 AND s.expires_at_ms > ?2 AND r.disabled = 0",
                params![token_hash(token), millis::now()],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?;
        found
            .map(|(id, name, role, csrf)| {
                Ok((
                    Reviewer {
                        id,
                        name,
                        role: role.parse()?,
                    },
                    csrf,
                ))
            })
            .transpose()
    }

    /// Ends a session (and any that have expired).
    pub fn logout(&self, token: &str) -> Result<(), StateError> {
        self.conn().execute(
            "DELETE FROM sessions WHERE token_sha256 = ?1 OR expires_at_ms <= ?2",
            params![token_hash(token), millis::now()],
        )?;
        Ok(())
    }
}

/// An argon2id hash of a password no one has, for the unknown-name path of
/// [`DeskState::login`]: made once, with the same parameters as every real one.
pub(super) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token().unwrap_or_default()).unwrap_or_default())
}

/// An argon2id hash of a password of 12 to 1,024 bytes.
pub(super) fn hash_password(password: &str) -> Result<String, StateError> {
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&password.len()) {
        return Err(StateError::Account(format!(
            "a password is {MIN_PASSWORD} to {MAX_PASSWORD} bytes"
        )));
    }
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| StateError::Account("the system random generator failed".into()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| StateError::Account(e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| StateError::Account(e.to_string()))?
        .to_string())
}

pub(super) fn verify_password(password: &str, stored: &str) -> Result<bool, StateError> {
    let parsed = PasswordHash::new(stored)
        .map_err(|e| StateError::Corrupt(format!("a password hash: {e}")))?;
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

pub(super) fn random_token() -> Result<String, StateError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| StateError::Account("the system random generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

pub(super) fn token_hash(token: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref())
}

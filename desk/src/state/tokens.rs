//! Proof that a person acts: what scripts that act as someone (`case --as`, `lead --as`) must
//! show, so the audit never names someone who did not act. The person's passphrase, or an API
//! token they made in the app: shown to them once, kept only as its SHA-256, revocable, every
//! making and revoking audited.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use sighting_core::millis;

use super::accounts::{dummy_hash, random_token, token_hash, verify_password, MAX_PASSWORD};
use super::audit_log::AuditLine;
use super::{DeskState, Reviewer, Role, StateError};

/// What every token starts with, so one pasted in the wrong place is recognised.
pub const TOKEN_PREFIX: &str = "sgt_";
/// The longest token label (bytes).
const MAX_LABEL: usize = 100;

/// How a person proves it is them.
pub enum Proof<'a> {
    Passphrase(&'a str),
    Token(&'a str),
}

/// A token as its owner sees it later: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub label: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

impl DeskState {
    /// Makes a token for `by`, labelled (what it is for); the token is returned this once.
    pub fn make_token(&self, by: &Reviewer, label: &str) -> Result<(TokenRow, String), StateError> {
        let label = label.trim();
        if label.is_empty() || label.len() > MAX_LABEL || label.chars().any(char::is_control) {
            return Err(StateError::Account(format!(
                "a token's label is 1 to {MAX_LABEL} printable characters"
            )));
        }
        let token = format!("{TOKEN_PREFIX}{}", random_token()?);
        let now = millis::now();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO api_tokens (reviewer_id, label, token_sha256, created_at_ms)
             VALUES (?1, ?2, ?3, ?4)",
            params![by.id, label, token_hash(&token), now],
        )?;
        let id = tx.last_insert_rowid();
        AuditLine::reviewer(by.id, "token_made")
            .change(None, Some(label))
            .write(&tx)?;
        tx.commit()?;
        let row = TokenRow {
            id,
            label: label.to_string(),
            created_at_ms: now,
            revoked_at_ms: None,
        };
        Ok((row, token))
    }

    /// `owner`'s tokens, newest first.
    pub fn tokens(&self, owner: &Reviewer) -> Result<Vec<TokenRow>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, label, created_at_ms, revoked_at_ms FROM api_tokens
             WHERE reviewer_id = ?1 ORDER BY id DESC",
        )?;
        let rows = stmt
            .query_map([owner.id], |r| {
                Ok(TokenRow {
                    id: r.get(0)?,
                    label: r.get(1)?,
                    created_at_ms: r.get(2)?,
                    revoked_at_ms: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Revokes one of `by`'s tokens (an admin may revoke anyone's); it stops working at once.
    pub fn revoke_token(&self, by: &Reviewer, id: i64) -> Result<(), StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found = tx
            .query_row(
                "SELECT reviewer_id, label FROM api_tokens WHERE id = ?1 AND revoked_at_ms IS NULL",
                [id],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        let label = match found {
            Some((owner, label)) if owner == by.id || by.role == Role::Admin => label,
            _ => return Err(StateError::Account("no such token to revoke".into())),
        };
        tx.execute(
            "UPDATE api_tokens SET revoked_at_ms = ?2 WHERE id = ?1",
            params![id, millis::now()],
        )?;
        AuditLine::reviewer(by.id, "token_revoked")
            .change(None, Some(&label))
            .write(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// The active person called `name`, if the proof is theirs: their passphrase, or a live
    /// token they made. Anything else is [`StateError::Credentials`], the same for a wrong
    /// name, a wrong proof, a revoked token or a disabled person.
    pub fn prove(&self, name: &str, proof: Proof<'_>) -> Result<Reviewer, StateError> {
        let Some(person) = self.reviewer(name)? else {
            if let Proof::Passphrase(p) = proof {
                // The same work as a real check, as at the login.
                let _ = verify_password(p, dummy_hash());
            }
            return Err(StateError::Credentials);
        };
        let proven = match proof {
            Proof::Passphrase(p) if p.len() <= MAX_PASSWORD => {
                let stored: String = self.conn().query_row(
                    "SELECT password_hash FROM reviewers WHERE id = ?1",
                    [person.id],
                    |r| r.get(0),
                )?;
                verify_password(p, &stored)?
            }
            Proof::Passphrase(_) => false,
            Proof::Token(t) => self
                .conn()
                .query_row(
                    "SELECT 1 FROM api_tokens
                     WHERE token_sha256 = ?1 AND reviewer_id = ?2 AND revoked_at_ms IS NULL",
                    params![token_hash(t.trim()), person.id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some(),
        };
        match proven {
            true => Ok(person),
            false => Err(StateError::Credentials),
        }
    }
}

//! Managing the desk's people: who they are and their roles, adding one, disabling (their
//! sessions end at once) and enabling, a new passphrase, and unlocking a name's logins after too
//! many wrong passphrases. Every change is audited: by the admin who made it in the app, or by
//! the desk's own command line (`by` none: whoever runs it holds the desk's files).

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::accounts::hash_password;
use super::audit_log::AuditLine;
use super::{DeskState, Reviewer, Role, StateError};

/// A person as the admin view lists them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at_ms: i64,
}

/// The audit actions about people (their `to` is the person's name).
pub const PEOPLE_ACTIONS: [&str; 5] = [
    "reviewer_added",
    "reviewer_disabled",
    "reviewer_enabled",
    "password_reset",
    "logins_unlocked",
];

impl DeskState {
    /// Everyone with an account, by name.
    pub fn accounts(&self) -> Result<Vec<Account>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT name, role, disabled, created_at_ms FROM reviewers ORDER BY name",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(name, role, disabled, created_at_ms)| {
                Ok(Account {
                    name,
                    role: role.parse()?,
                    disabled,
                    created_at_ms,
                })
            })
            .collect()
    }

    /// [`DeskState::add_reviewer`], made by an admin in the app and audited as theirs.
    pub fn add_reviewer_as(
        &self,
        by: &Reviewer,
        name: &str,
        password: &str,
        role: Role,
    ) -> Result<Reviewer, StateError> {
        self.add_reviewer_by(Some(by.id), name, password, role)
    }

    /// Disables a person (every session of theirs ends now, and their tokens stop working) or
    /// enables them again. The last active admin is never disabled: no one could manage the
    /// desk's people from the app after.
    pub fn set_disabled(
        &self,
        by: Option<&Reviewer>,
        name: &str,
        disabled: bool,
    ) -> Result<(), StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (id, role, was) = person(&tx, name)?;
        if disabled && role == Role::Admin && !was {
            let admins: i64 = tx.query_row(
                "SELECT COUNT(*) FROM reviewers WHERE role = 'admin' AND disabled = 0",
                [],
                |r| r.get(0),
            )?;
            if admins <= 1 {
                return Err(StateError::Account(format!(
                    "{name:?} is the last active admin: make another admin first"
                )));
            }
        }
        tx.execute(
            "UPDATE reviewers SET disabled = ?2 WHERE id = ?1",
            params![id, disabled],
        )?;
        if disabled {
            tx.execute("DELETE FROM sessions WHERE reviewer_id = ?1", [id])?;
        }
        let action = match disabled {
            true => "reviewer_disabled",
            false => "reviewer_enabled",
        };
        AuditLine::admin(by.map(|b| b.id), action)
            .change(None, Some(name))
            .write(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Gives a person a new passphrase; their sessions end (whoever had the old one is out).
    pub fn reset_password(
        &self,
        by: Option<&Reviewer>,
        name: &str,
        password: &str,
    ) -> Result<(), StateError> {
        let hash = hash_password(password)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (id, _, _) = person(&tx, name)?;
        tx.execute(
            "UPDATE reviewers SET password_hash = ?2 WHERE id = ?1",
            params![id, hash],
        )?;
        tx.execute("DELETE FROM sessions WHERE reviewer_id = ?1", [id])?;
        AuditLine::admin(by.map(|b| b.id), "password_reset")
            .change(None, Some(name))
            .write(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Lets a name whose logins are blocked (too many wrong passphrases) try again at once. A
    /// running desk sees it at the name's next login ([`DeskState::unlocks`]).
    pub fn unlock(&self, by: Option<&Reviewer>, name: &str) -> Result<(), StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (id, _, _) = person(&tx, name)?;
        tx.execute(
            "UPDATE reviewers SET unlocks = unlocks + 1 WHERE id = ?1",
            [id],
        )?;
        AuditLine::admin(by.map(|b| b.id), "logins_unlocked")
            .change(None, Some(name))
            .write(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// How often a name was unlocked (`None`: no such name). Names differing in ASCII case are
    /// one name here, as they are to the login throttle.
    pub fn unlocks(&self, name: &str) -> Result<Option<u64>, StateError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT MAX(unlocks) FROM reviewers WHERE name = ?1 COLLATE NOCASE",
                [name.trim()],
                |r| r.get::<_, Option<i64>>(0),
            )?
            .map(|n| n.max(0) as u64))
    }
}

/// A person's id, role and whether they are disabled, or a clear error.
fn person(tx: &rusqlite::Transaction<'_>, name: &str) -> Result<(i64, Role, bool), StateError> {
    let found = tx
        .query_row(
            "SELECT id, role, disabled FROM reviewers WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            },
        )
        .optional()?;
    let (id, role, disabled) =
        found.ok_or_else(|| StateError::Account(format!("no one is called {name:?} here")))?;
    Ok((id, role.parse()?, disabled))
}

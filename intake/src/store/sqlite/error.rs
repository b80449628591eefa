//! SQLite's errors in the store's words.

use crate::store::StoreError;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full(e.into()),
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                StoreError::Corrupt(e.to_string())
            }
            _ => StoreError::Failed(e.into()),
        }
    }
}

impl From<sighting_core::sqlite::MigrationError> for StoreError {
    fn from(e: sighting_core::sqlite::MigrationError) -> Self {
        match e {
            sighting_core::sqlite::MigrationError::Sqlite(e) => e.into(),
            newer_or_step => StoreError::Config(newer_or_step.to_string()),
        }
    }
}

//! PostgreSQL's and the object store's errors in the store's words.

use crate::store::StoreError;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // Errors without a database error are the connection's (closed, timed out, I/O).
        if e.is_closed() || e.as_db_error().is_none() {
            StoreError::Unavailable(e.into())
        } else {
            StoreError::Failed(e.into())
        }
    }
}

impl From<object_store::Error> for StoreError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => {
                // An object the database records is gone.
                StoreError::Corrupt(e.to_string())
            }
            object_store::Error::InvalidPath { .. }
            | object_store::Error::NotSupported { .. }
            | object_store::Error::NotImplemented { .. } => StoreError::Failed(e.into()),
            // The bucket out of reach, or refusing for now.
            _ => StoreError::Unavailable(e.into()),
        }
    }
}

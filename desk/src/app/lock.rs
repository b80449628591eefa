//! One desk app per state directory. Two on one state would each open the same reports, pull
//! from the intake into the same folder and write the same exports; the second refuses at start,
//! whatever port it was given. The `case` and `desk-user` commands still work beside a running
//! desk: they change `desk.sqlite3` in transactions, as the app does.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use rustix::fs::{flock, FlockOperation};

/// `STATE/desk.lock`, locked (flock) while the desk runs; the kernel lets go when the process
/// ends, however it ends.
pub(super) struct StateLock {
    _file: std::fs::File,
}

impl StateLock {
    pub(super) fn acquire(state: &Path) -> Result<Self> {
        crate::make_private_dir(state)
            .with_context(|| format!("cannot make the state directory {}", state.display()))?;
        let path = state.join("desk.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Self { _file: file }),
            Err(rustix::io::Errno::WOULDBLOCK) => bail!(
                "another desk is already running on the state directory {}: stop it first \
                 (one desk per state; reviewers share it through the browser)",
                state.display()
            ),
            Err(e) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
        }
    }
}

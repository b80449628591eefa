//! Files and folders only the app's own user may read: every file the device writes is 0600
//! and every folder 0700. What is inside is encrypted anyway; this keeps other users of a shared
//! desktop from even listing which drafts, reports and bulletin tiles exist.

use std::fs;
use std::path::Path;

/// Makes `dir` (and missing parents) 0700, and tightens it to 0700 if it was already there.
pub(crate) fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700).create(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

/// Creates (or truncates) a file for writing, 0600 from the start.
pub(crate) fn create_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

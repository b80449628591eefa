//! `sighting-server serve` as its own process, on either store.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use test_support::engines::Shared;

/// `sighting-server serve` in its own process, killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub addr: String,
}

/// The store a [`ServerProcess`] keeps uploads in.
pub enum Store<'a> {
    /// SQLite and files in `dir/data`.
    Sqlite,
    /// `shared`'s database and bucket.
    Shared(&'a Shared),
}

impl ServerProcess {
    /// On `store`, its keys made in `dir/org`.
    pub fn start(dir: &Path, store: Store, args: &[&str], max_files: Option<u64>) -> Self {
        let data = dir.join("data");
        match store {
            Store::Sqlite => {
                let at = [OsStr::new("--data"), data.as_os_str()];
                Self::spawn(dir, &at, Vec::new(), args, max_files)
            }
            Store::Shared(shared) => {
                let spec = shared.spec();
                let at = [OsStr::new("--store"), OsStr::new(&spec)];
                Self::spawn(dir, &at, shared.s3.env(), args, max_files)
            }
        }
    }

    fn spawn(
        dir: &Path,
        store: &[&OsStr],
        env: Vec<(&'static str, String)>,
        args: &[&str],
        max_files: Option<u64>,
    ) -> Self {
        let bin = env!("CARGO_BIN_EXE_sighting-server");
        let keys = dir.join("org");
        if !keys.join("server.key").exists() {
            let status = Command::new(bin)
                .args(["keygen", "--out"])
                .arg(&keys)
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let mut command = Command::new(bin);
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(store)
            .arg("--key")
            .arg(keys.join("server.key"))
            .args(args)
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(limit) = max_files {
            let limit = rustix::process::Rlimit {
                current: Some(limit),
                maximum: Some(limit),
            };
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                    rustix::process::setrlimit(rustix::process::Resource::Nofile, limit)
                        .map_err(std::io::Error::from)
                });
            }
        }
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the server stopped before listening")
                .unwrap();
            if let Some(rest) = line.split("http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        // Its logs go to stdout: keep reading so a full pipe never blocks it.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, addr }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Resident memory now, KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The most resident memory so far, KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

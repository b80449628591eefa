//! The real engines the shared store runs on, started for a test and stopped after it: a
//! PostgreSQL server from Debian's packages and versitygw (an Apache-2.0 S3 server, installed
//! by `cargo xtask`), each on a random loopback port in a temporary directory; and tusd, the
//! reference tus server our client and intake are measured against.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sighting_intake::store::{objects_at, SharedStore, SharedStoreConfig};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let until = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(Instant::now() < until, "{what} did not listen within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A Go tool `cargo xtask` installs into `target/go-bin` and names in the variable `env`.
fn go_peer(name: &str, env: &str) -> PathBuf {
    let program = std::env::var_os(env).map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/go-bin")
                .join(name)
        },
        PathBuf::from,
    );
    assert!(
        program.exists(),
        "{name}: run `cargo xtask test`, which installs it and sets {env}"
    );
    program
}

/// tusd v2.9.1 with its file store in `dir`, on loopback `port` (installed by `cargo xtask`,
/// which sets `SIGHTING_TUSD`); returns once it listens. The caller stops it.
pub fn spawn_tusd(dir: &Path, port: u16) -> Child {
    let mut child = Command::new(go_peer("tusd", "SIGHTING_TUSD"))
        .args(["-host", "127.0.0.1", "-port", &port.to_string()])
        .args(["-base-path", "/v1/uploads/", "-upload-dir"])
        .arg(dir)
        .args(["-expose-metrics=false", "-show-greeting=false"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tusd starts");
    wait_for_port(port, "tusd", &mut child);
    child
}

/// Debian's PostgreSQL binaries: `SIGHTING_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`.
fn pg_bin(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("SIGHTING_PG_BIN") {
        return PathBuf::from(dir).join(name);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL: apt-get install postgresql (`.ci/run` does)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("postgres").exists())
        .collect();
    versions.sort_by_key(|bin| {
        let version = bin.parent().and_then(|v| v.file_name()).unwrap_or_default();
        version.to_string_lossy().parse::<u32>().unwrap_or(0)
    });
    versions
        .pop()
        .expect("no /usr/lib/postgresql/*/bin/postgres")
        .join(name)
}

/// PostgreSQL refuses to run as root: as root, its processes run as the `postgres` user.
fn as_postgres(program: PathBuf, dir: &Path) -> Command {
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if !root {
        return Command::new(program);
    }
    let owner = Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .unwrap();
    let uid: u32 = String::from_utf8_lossy(&owner.stdout)
        .trim()
        .parse()
        .unwrap();
    std::os::unix::fs::chown(dir, Some(uid), None).unwrap();
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(program);
    cmd
}

pub struct Postgres {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// The process started (`runuser` when root), whose descendants are the server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn start() -> Postgres {
        Self::start_serving(None)
    }

    /// A server that offers TLS with `cert` and `key` (PEM) beside plain connections.
    pub fn start_with_tls(cert: &str, key: &str) -> Postgres {
        Self::start_serving(Some((cert, key)))
    }

    fn start_serving(tls: Option<(&str, &str)>) -> Postgres {
        let dir = tempfile::Builder::new()
            .prefix("sighting-pg")
            .tempdir_in("/tmp")
            .unwrap();
        let data = dir.path().join("data");
        let initdb = as_postgres(pg_bin("initdb"), dir.path())
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(initdb.success(), "initdb failed");
        let port = free_port();
        let mut server = as_postgres(pg_bin("postgres"), dir.path());
        if let Some((cert, key)) = tls {
            // In the data directory, which belongs to the server's user; the key readable
            // by that user alone, or PostgreSQL refuses it.
            std::fs::write(data.join("server.crt"), cert).unwrap();
            std::fs::write(data.join("server.key"), key).unwrap();
            let owner = std::fs::metadata(&data).unwrap();
            for file in ["server.crt", "server.key"] {
                let path = data.join(file);
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
            server.args(["-c", "ssl=on"]);
        }
        let mut child = server
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.path().display()))
            .args(["-c", "max_connections=200"])
            // Its own process group, so the whole server (behind `runuser`) can be stopped.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, "postgres", &mut child);
        Postgres {
            port,
            child,
            _dir: dir,
        }
    }

    /// A new, empty database: its address (no password: trust on loopback).
    pub async fn database(&self) -> String {
        let name = format!("t{}", uuid::Uuid::new_v4().simple());
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let until = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match tokio_postgres::connect(&admin, tokio_postgres::NoTls).await {
                Ok((client, connection)) => {
                    tokio::spawn(connection);
                    break client;
                }
                // Listening before it accepts logins (recovery, start-up).
                Err(e) if Instant::now() < until => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("postgres: {e}"),
            }
        };
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGQUIT: PostgreSQL's immediate shutdown (a test's database is thrown away).
        let _ = Command::new("kill")
            .args(["-QUIT", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

pub const S3_ACCESS_KEY: &str = "sighting-test";
pub const S3_SECRET_KEY: &str = "sighting-test-secret";

/// versitygw serving a directory as S3 (posix mode: buckets are its subdirectories, metadata
/// in user xattrs).
pub struct Versitygw {
    pub endpoint: String,
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Versitygw {
    pub fn start() -> Versitygw {
        let dir = tempfile::Builder::new()
            .prefix("sighting-s3")
            .tempdir_in(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
            .unwrap();
        let port = free_port();
        Versitygw {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            child: Self::spawn(dir.path(), port),
            dir,
        }
    }

    fn spawn(dir: &Path, port: u16) -> Child {
        let mut child = Command::new(go_peer("versitygw", "SIGHTING_VERSITYGW"))
            .args(["--access", S3_ACCESS_KEY, "--secret", S3_SECRET_KEY])
            // Its default, a connection per request: `--keep-alive` measured no faster here.
            .args(["--quiet", "--port", &format!("127.0.0.1:{port}"), "posix"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, "versitygw", &mut child);
        child
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The S3 server goes away (its files stay)…
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// …and comes back on the same address.
    pub fn restart(&mut self) {
        self.child = Self::spawn(self.dir.path(), self.port);
    }

    /// A new, empty bucket: its name.
    pub fn bucket(&self) -> String {
        let name = format!("b{}", uuid::Uuid::new_v4().simple());
        std::fs::create_dir(self.dir.path().join(&name)).unwrap();
        name
    }

    /// The directory that holds `bucket`'s objects as files.
    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.dir.path().join(bucket)
    }

    /// The variables `serve --store …;s3://BUCKET/…` reads the bucket's address and keys from.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY.into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// The bucket as a node opens it (`serve --store …;s3://BUCKET` with [`env`](Self::env)).
    pub fn objects(&self, bucket: &str) -> Arc<dyn object_store::ObjectStore> {
        // The S3 client is reqwest on rustls without a default provider: install ours first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let env = self.env().into_iter().map(|(k, v)| (k.to_string(), v));
        objects_at(&format!("s3://{bucket}"), env).unwrap()
    }
}

impl Drop for Versitygw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One PostgreSQL database and one bucket, as every node of a deployment sees them.
pub struct Shared {
    pub postgres: Postgres,
    pub s3: Versitygw,
    pub database: String,
    pub bucket: String,
}

impl Shared {
    pub async fn start() -> Shared {
        let postgres = Postgres::start();
        let s3 = Versitygw::start();
        let database = postgres.database().await;
        let bucket = s3.bucket();
        Shared {
            postgres,
            s3,
            database,
            bucket,
        }
    }

    /// `serve --store` for this database and bucket (the intake's objects under `intake/`).
    pub fn spec(&self) -> String {
        format!("{};s3://{}/intake", self.database, self.bucket)
    }

    /// A node's store in this process (what `serve --store` opens).
    pub async fn store(&self) -> SharedStore {
        shared_store(&self.database, self.objects()).await
    }

    pub fn objects(&self) -> Arc<dyn object_store::ObjectStore> {
        Arc::new(object_store::prefix::PrefixStore::new(
            self.s3.objects(&self.bucket),
            "intake",
        ))
    }

    /// A finished report's object as versitygw keeps it on disk.
    pub fn report(&self, report_id: uuid::Uuid) -> Vec<u8> {
        let path = format!("intake/reports/{report_id}.age");
        std::fs::read(self.s3.bucket_dir(&self.bucket).join(path)).unwrap()
    }

    /// The files under the bucket's `intake/<dir>`, as versitygw keeps them on disk.
    pub fn files(&self, dir: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![self.s3.bucket_dir(&self.bucket).join("intake").join(dir)];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push(path);
                }
            }
        }
        out
    }

    pub async fn sql(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.database, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    }
}

/// A shared store on `postgres` with its bytes in `objects`.
pub async fn shared_store(
    postgres: &str,
    objects: Arc<dyn object_store::ObjectStore>,
) -> SharedStore {
    let _ = rustls::crypto::ring::default_provider().install_default();
    SharedStore::open(SharedStoreConfig {
        postgres: postgres.parse().unwrap(),
        postgres_tls: None,
        objects,
        pool_size: 8,
    })
    .await
    .unwrap()
}

//! Where a shared store lives: the database's address and the bucket, from one `--store` value
//! and the environment.

use std::sync::Arc;

use object_store::ObjectStore;

use crate::store::StoreError;

/// Where a shared store lives. Credentials never come from the command line: the PostgreSQL
/// password from `PGPASSWORD` or the file `SIGHTING_PG_PASSWORD_FILE` names, the bucket's from
/// the `AWS_*` variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`,
/// `AWS_REGION`, `AWS_ALLOW_HTTP`).
///
/// PostgreSQL is reached over TLS as its address's `sslmode` says (libpq's default `prefer`:
/// TLS whenever the server offers it; `require`: TLS or nothing; `disable`: never), its
/// certificate always verified — against the CA in the PEM file `SIGHTING_PG_CA_FILE` names
/// (a managed database's, or the organisation's), or the bundled Mozilla roots.
pub struct SharedStoreConfig {
    pub postgres: tokio_postgres::Config,
    /// How PostgreSQL's certificate is checked; `None` with `sslmode=disable`.
    pub postgres_tls: Option<rustls::ClientConfig>,
    pub objects: Arc<dyn ObjectStore>,
    /// PostgreSQL connections this node keeps at most.
    pub pool_size: usize,
}

impl SharedStoreConfig {
    /// `postgres://USER@HOST:PORT/DB;s3://BUCKET/PREFIX` (or `;file:///DIR` for a directory),
    /// with credentials from the process's environment.
    pub fn from_spec(spec: &str) -> Result<Self, StoreError> {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Self::from_spec_with(spec, vars.collect())
    }

    /// [`from_spec`](Self::from_spec) with the variables given rather than the process's.
    pub fn from_spec_with(spec: &str, vars: Vec<(String, String)>) -> Result<Self, StoreError> {
        let bad = |why: &str| StoreError::Config(why.to_string());
        let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let read = |file: &str| {
            std::fs::read(file).map_err(|e| StoreError::Config(format!("{file}: {e}")))
        };
        let (postgres, objects) = spec
            .split_once(';')
            .ok_or_else(|| bad("expected postgres://…;s3://bucket/prefix"))?;
        let mut postgres: tokio_postgres::Config = postgres
            .parse()
            .map_err(|e| StoreError::Config(format!("the PostgreSQL address: {e}")))?;
        if postgres.get_password().is_some() {
            return Err(bad(
                "no password in the address: set PGPASSWORD or SIGHTING_PG_PASSWORD_FILE",
            ));
        }
        if let Some(file) = var("SIGHTING_PG_PASSWORD_FILE") {
            let password = String::from_utf8(read(&file)?)
                .map_err(|_| StoreError::Config(format!("{file}: not text")))?;
            postgres.password(password.trim_end());
        } else if let Some(password) = var("PGPASSWORD") {
            postgres.password(password);
        }
        let postgres_tls = match postgres.get_ssl_mode() {
            tokio_postgres::config::SslMode::Disable => None,
            _ => {
                let ca = var("SIGHTING_PG_CA_FILE").map(|f| read(&f)).transpose()?;
                let tls = sighting_core::sync::tls_config(ca.as_deref())
                    .map_err(|e| StoreError::Config(format!("SIGHTING_PG_CA_FILE: {e}")))?;
                Some(tls)
            }
        };
        Ok(Self {
            postgres,
            postgres_tls,
            objects: objects_at(objects, vars)?,
            pool_size: 16,
        })
    }
}

/// The object store a URL names, with everything under its path as the store's root; an S3
/// bucket's address and keys come from the `AWS_*` entries of `vars` (the environment, when
/// serving).
pub fn objects_at(
    url: &str,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Arc<dyn ObjectStore>, StoreError> {
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    use object_store::prefix::PrefixStore;
    if let Some(dir) = url.strip_prefix("file://") {
        std::fs::create_dir_all(dir)?;
        // A piece counts once it is written, so it must be on disk by then: object_store's
        // directory does not sync unless asked.
        let local = object_store::local::LocalFileSystem::new_with_prefix(dir)?.with_fsync(true);
        return Ok(Arc::new(local));
    }
    let rest = url.strip_prefix("s3://").ok_or_else(|| {
        StoreError::Config(format!(
            "{url}: the bytes go to s3://bucket/prefix or file:///dir"
        ))
    })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    // Payloads unsigned unless `AWS_UNSIGNED_PAYLOAD=false`: signing hashes every byte on the
    // node and again on the server, and adds nothing here — TLS protects them on the way, and
    // finishing checks the whole ciphertext against the SHA-256 the phone signed.
    let mut s3 = AmazonS3Builder::new().with_unsigned_payload(true);
    // What `AmazonS3Builder::from_env` does, from `vars` rather than the process's environment.
    for (key, value) in vars.into_iter().filter(|(key, _)| key.starts_with("AWS_")) {
        if let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            s3 = s3.with_config(key, value);
        }
    }
    let s3 = s3.with_bucket_name(bucket).build()?;
    Ok(if prefix.trim_matches('/').is_empty() {
        Arc::new(s3)
    } else {
        Arc::new(PrefixStore::new(s3, prefix.trim_matches('/')))
    })
}

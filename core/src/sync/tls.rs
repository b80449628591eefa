//! Where the phone may connect, and whom it trusts there: rustls on ring with the Mozilla roots
//! bundled (webpki-roots), so Android needs no platform-verifier JNI, or only the
//! organisation's pinned CA. Plain `http://` is allowed to loopback only (tests, the demo).

use std::sync::Arc;

use super::SyncError;

/// `https://…`, or `http://` to a loopback host.
pub fn check_intake_url(intake: &str) -> Result<reqwest::Url, SyncError> {
    let url = reqwest::Url::parse(intake).map_err(|_| SyncError::Url(intake.to_string()))?;
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(SyncError::Url(intake.to_string())),
    }
}

/// TLS on ring: the bundled Mozilla roots, or only the organisation's pinned CA.
pub fn tls_config(pinned_ca: Option<&[u8]>) -> Result<rustls::ClientConfig, SyncError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    match pinned_ca {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(bytes) => {
            let certs: Vec<CertificateDer<'static>> = if bytes.starts_with(b"-----") {
                CertificateDer::pem_slice_iter(bytes)
                    .collect::<Result<_, _>>()
                    .map_err(|e| SyncError::PinnedCa(e.to_string()))?
            } else {
                vec![CertificateDer::from(bytes.to_vec())]
            };
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(SyncError::PinnedCa("no usable certificate".into()));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SyncError::Client(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

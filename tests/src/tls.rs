//! A test certificate authority, for TLS on loopback (the intake behind https, PostgreSQL).

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

/// A CA (its PEM, and the issuer), and a certificate it issued for `localhost` and 127.0.0.1
/// with its key.
pub fn test_ca() -> (
    String,
    CertifiedIssuer<'static, KeyPair>,
    rcgen::Certificate,
    KeyPair,
) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Sighting test CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    (ca.pem(), ca, leaf, leaf_key)
}

//! The organisation's lead-signing key, in minisign's format (Ed25519, prehashed signatures),
//! so an officer checks a package with the stock tool and the organisation's `lead.pub`:
//! `minisign -Vm lead-….zip -p lead.pub`.

use std::path::Path;

/// The key as `keygen` writes it: the secret half unencrypted (the desk signs unattended) and
/// kept 0600 beside the organisation's other keys.
pub struct LeadKey {
    secret: minisign::SecretKey,
    public: minisign::PublicKey,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(
        "no lead-signing key at {0}: make one with `sighting-server keygen --lead-only --out DIR` \
         (it adds lead.key and lead.pub and leaves the other keys alone), then publish lead.pub \
         beside recipient.txt"
    )]
    Missing(String),
    #[error("{0} is not a minisign secret key without a password: {1}")]
    Unreadable(String, String),
    #[error("signing the package: {0}")]
    Sign(String),
}

/// A new key pair: the secret key's file text and the public key's (`lead.pub`).
pub fn new_key_pair() -> Result<(String, String), SignError> {
    let failed = |e: minisign::PError| SignError::Sign(e.to_string());
    let pair = minisign::KeyPair::generate_unencrypted_keypair().map_err(failed)?;
    let secret = pair
        .sk
        .to_box(Some(
            "Sighting lead-signing key: keep at the review desk only",
        ))
        .map_err(failed)?
        .to_string();
    let public = pair.pk.to_box().map_err(failed)?.to_string();
    Ok((secret, public))
}

impl LeadKey {
    /// Reads `lead.key` as `keygen` wrote it.
    pub fn read(path: &Path) -> Result<Self, SignError> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SignError::Missing(shown))
            }
            Err(e) => return Err(SignError::Unreadable(shown, e.to_string())),
        };
        let unreadable = |e: minisign::PError| SignError::Unreadable(shown.clone(), e.to_string());
        let secret = minisign::SecretKeyBox::from_string(&text)
            .and_then(|b| b.into_unencrypted_secret_key())
            .map_err(unreadable)?;
        let public = minisign::PublicKey::from_secret_key(&secret).map_err(unreadable)?;
        Ok(Self { secret, public })
    }

    /// The public key as one base64 line, the way `minisign -P` takes it.
    pub fn public_base64(&self) -> String {
        self.public.to_base64()
    }

    /// `file.minisig` for `bytes`; the trusted comment (signed too, and printed by
    /// `minisign -V`) names the package, so a renamed or swapped file shows.
    pub fn sign(&self, bytes: &[u8], trusted_comment: &str) -> Result<String, SignError> {
        let signature = minisign::sign(
            Some(&self.public),
            &self.secret,
            std::io::Cursor::new(bytes),
            Some(trusted_comment),
            Some("Sighting lead package: check with minisign -V and the organisation's lead.pub"),
        )
        .map_err(|e| SignError::Sign(e.to_string()))?;
        Ok(signature.into_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_a_changed_byte_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public) = new_key_pair().unwrap();
        std::fs::write(dir.path().join("lead.key"), secret).unwrap();
        let key = LeadKey::read(&dir.path().join("lead.key")).unwrap();
        let signed = key.sign(b"package bytes", "file:lead-C-1.zip").unwrap();
        let public = minisign::PublicKeyBox::from_string(&public)
            .unwrap()
            .into_public_key()
            .unwrap();
        let signature = minisign::SignatureBox::from_string(&signed).unwrap();
        assert!(signature.is_prehashed(), "what current minisign expects");
        let check = |bytes: &[u8]| {
            minisign::verify(
                &public,
                &signature,
                std::io::Cursor::new(bytes),
                true,
                false,
                false,
            )
        };
        assert!(check(b"package bytes").is_ok());
        assert!(check(b"package bytez").is_err());
    }

    #[test]
    fn a_missing_key_says_how_to_make_one() {
        let dir = tempfile::tempdir().unwrap();
        let e = LeadKey::read(&dir.path().join("lead.key"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("keygen --lead-only"), "{e}");
    }
}

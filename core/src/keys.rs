//! The device's keys: a pseudonymous Ed25519 signing key and the at-rest key for drafts, both
//! stored only wrapped by the platform keystore.
//!
//! The device key ties a phone's reports together (so the desk can see two sightings came from
//! one reporter) and nothing else: it is made from randomness on first run, never from a hardware
//! or account id, and the reporter can reset it at any time.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use uuid::Uuid;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the keystore failed: {0}")]
    KeyStore(String),
    #[error("a stored key is corrupt or was wrapped by another keystore")]
    Corrupt,
    #[error("cannot read or write keys: {0}")]
    Io(#[from] std::io::Error),
    #[error("the system random generator failed")]
    Random,
}

/// The platform keystore (Android Keystore, iOS Keychain/Secure Enclave): wraps and unwraps small
/// secrets with a key that never leaves it.
pub trait KeyStore: Send + Sync {
    fn wrap(&self, plain: &[u8]) -> Result<Vec<u8>, KeyError>;
    fn unwrap(&self, wrapped: &[u8]) -> Result<Vec<u8>, KeyError>;
}

/// The device's signing key.
pub struct DeviceKey {
    pair: Ed25519KeyPair,
}

impl DeviceKey {
    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.pair.public_key().as_ref());
        out
    }

    /// `manifest.sig`: Ed25519 over the exact manifest bytes.
    pub fn sign_manifest(&self, manifest: &[u8]) -> [u8; 64] {
        sig64(self.pair.sign(manifest).as_ref())
    }

    /// The envelope signature the intake server checks without decrypting anything.
    pub fn sign_envelope(&self, report_id: Uuid, ciphertext_sha256: &[u8; 32]) -> [u8; 64] {
        sig64(
            self.pair
                .sign(&crate::wire::envelope_message(report_id, ciphertext_sha256))
                .as_ref(),
        )
    }
}

fn sig64(sig: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out.copy_from_slice(sig);
    out
}

impl fmt::Debug for DeviceKey {
    // The public key only: the private half never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DeviceKey(public: {})",
            crate::wire::hex::encode(&self.public_key())
        )
    }
}

/// The at-rest key (AES-256-GCM) that encrypts drafts and thumbnails on the phone, and a key
/// derived from the same secret that names files after public values (see [`Self::file_name`]).
pub struct AtRestKey {
    aead: LessSafeKey,
    names: ring::hmac::Key,
}

impl AtRestKey {
    fn new(secret: &[u8]) -> Result<Self, KeyError> {
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, &[]).extract(secret);
        let names = prk
            .expand(&[FILE_NAMES_INFO], ring::hmac::HMAC_SHA256)
            .map_err(|_| KeyError::Corrupt)?;
        Ok(Self {
            aead: aes_key(secret)?,
            names: names.into(),
        })
    }

    /// A file name for a public value (a bulletin tile's digest, say) that only this device can
    /// compute: HMAC-SHA256 over `context || value`, in hex. Someone who can list the folder
    /// learns nothing about which values the phone holds.
    pub fn file_name(&self, context: &[u8], value: &[u8]) -> String {
        let tag = ring::hmac::sign(&self.names, &[context, value].concat());
        crate::wire::hex::encode(tag.as_ref())
    }

    /// `nonce || ciphertext || tag`, with `context` bound in as associated data.
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> Result<Vec<u8>, KeyError> {
        seal_with(&self.aead, context, plain)
    }

    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        open_with(&self.aead, context, sealed)
    }
}

impl fmt::Debug for AtRestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AtRestKey(…)")
    }
}

/// The key behind the boot tag: HMAC-SHA256, replaced with the device key by
/// [`DeviceKeys::reset_identity`].
///
/// The desk corrects a wrong phone clock when the capture and the upload happened in one boot,
/// so both must carry something that says "same boot". The kernel's boot id would say far more:
/// it links reports across an identity reset within a boot, and every app on the phone can read
/// it. A keyed tag says only "same boot, same identity".
pub struct ClockKey(ring::hmac::Key);

impl ClockKey {
    /// The first 8 bytes of HMAC-SHA256(key, "sighting-boot/2" || boot_id), in hex.
    pub fn boot_tag(&self, boot_id: &str) -> [u8; 8] {
        let tag = ring::hmac::sign(&self.0, &[b"sighting-boot/2", boot_id.as_bytes()].concat());
        let mut out = [0u8; 8];
        out.copy_from_slice(&tag.as_ref()[..8]);
        out
    }
}

impl fmt::Debug for ClockKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClockKey(…)")
    }
}

/// The device keys, loaded from `dir` (made on first run).
#[derive(Debug)]
pub struct DeviceKeys {
    pub device: DeviceKey,
    pub at_rest: AtRestKey,
    pub clock: ClockKey,
}

const DEVICE_FILE: &str = "device.key.wrapped";
const AT_REST_FILE: &str = "at-rest.key.wrapped";
const CLOCK_FILE: &str = "clock.key.wrapped";
/// HKDF info of the file-naming key: never used for anything else.
const FILE_NAMES_INFO: &[u8] = b"sighting-file-names/1";

impl DeviceKeys {
    pub fn open_or_create(dir: &Path, keystore: &dyn KeyStore) -> Result<Self, KeyError> {
        crate::private_fs::create_dir(dir)?;
        let rng = SystemRandom::new();
        let at_rest = load_or_make(&dir.join(AT_REST_FILE), keystore, || {
            random_secret(&rng, 32)
        })?;
        let device = load_or_make(&dir.join(DEVICE_FILE), keystore, || new_pkcs8(&rng))?;
        let clock = load_or_make(&dir.join(CLOCK_FILE), keystore, || random_secret(&rng, 32))?;
        Ok(Self {
            device: device_key(&device)?,
            at_rest: AtRestKey::new(&at_rest)?,
            clock: clock_key(&clock),
        })
    }

    /// A new device key and boot-tag key; reports already sealed keep what they have.
    pub fn reset_identity(&mut self, dir: &Path, keystore: &dyn KeyStore) -> Result<(), KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = new_pkcs8(&rng)?;
        let clock = random_secret(&rng, 32)?;
        write_private(&dir.join(DEVICE_FILE), &keystore.wrap(&pkcs8)?)?;
        write_private(&dir.join(CLOCK_FILE), &keystore.wrap(&clock)?)?;
        self.device = device_key(&pkcs8)?;
        self.clock = clock_key(&clock);
        Ok(())
    }
}

fn load_or_make(
    path: &Path,
    keystore: &dyn KeyStore,
    make: impl FnOnce() -> Result<Zeroizing<Vec<u8>>, KeyError>,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    match fs::read(path) {
        Ok(wrapped) => Ok(Zeroizing::new(keystore.unwrap(&wrapped)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let plain = make()?;
            write_private(path, &keystore.wrap(&plain)?)?;
            Ok(plain)
        }
        Err(e) => Err(e.into()),
    }
}

fn device_key(pkcs8: &[u8]) -> Result<DeviceKey, KeyError> {
    Ed25519KeyPair::from_pkcs8(pkcs8)
        .map(|pair| DeviceKey { pair })
        .map_err(|_| KeyError::Corrupt)
}

fn clock_key(bytes: &[u8]) -> ClockKey {
    ClockKey(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, bytes))
}

fn aes_key(bytes: &[u8]) -> Result<LessSafeKey, KeyError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| KeyError::Corrupt)
}

fn new_pkcs8(rng: &SystemRandom) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    Ed25519KeyPair::generate_pkcs8(rng)
        .map(|d| Zeroizing::new(d.as_ref().to_vec()))
        .map_err(|_| KeyError::Random)
}

fn random_secret(rng: &SystemRandom, len: usize) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let mut v = Zeroizing::new(vec![0u8; len]);
    rng.fill(&mut v).map_err(|_| KeyError::Random)?;
    Ok(v)
}

fn seal_with(key: &LessSafeKey, context: &[u8], plain: &[u8]) -> Result<Vec<u8>, KeyError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| KeyError::Random)?;
    let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let mut body = out.split_off(NONCE_LEN);
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(context),
        &mut body,
    )
    .map_err(|_| KeyError::Corrupt)?;
    out.append(&mut body);
    Ok(out)
}

fn open_with(
    key: &LessSafeKey,
    context: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let (nonce, body) = sealed
        .split_at_checked(NONCE_LEN)
        .ok_or(KeyError::Corrupt)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Corrupt)?;
    let mut body = Zeroizing::new(body.to_vec());
    let plain_len = key
        .open_in_place(nonce, Aad::from(context), &mut body)
        .map_err(|_| KeyError::Corrupt)?
        .len();
    body.truncate(plain_len);
    Ok(body)
}

/// Writes a file only its owner can read, atomically (temp, fsync, rename).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

/// A keystore for desktops and tests: a 256-bit key in a 0600 file, or derived from a passphrase
/// (PBKDF2-HMAC-SHA256, 600 000 iterations, OWASP 2023) with the salt kept in the file.
pub struct FileKeyStore {
    key: LessSafeKey,
}

const KEYSTORE_CONTEXT: &[u8] = b"sighting-keystore/1";
const PBKDF2_ITERATIONS: u32 = 600_000;

impl FileKeyStore {
    /// Opens the key in `path`, making it on first use.
    pub fn open(path: &Path) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let key = load_raw(path, || random_secret(&rng, 32))?;
        Ok(Self {
            key: aes_key(&key)?,
        })
    }

    /// Derives the key from `passphrase`; `path` holds only the salt.
    pub fn with_passphrase(path: &Path, passphrase: &str) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let salt = load_raw(path, || random_secret(&rng, 16))?;
        let mut key = Zeroizing::new([0u8; 32]);
        let iterations = std::num::NonZeroU32::new(PBKDF2_ITERATIONS).ok_or(KeyError::Corrupt)?;
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &salt,
            passphrase.as_bytes(),
            &mut *key,
        );
        Ok(Self {
            key: aes_key(&*key)?,
        })
    }
}

fn load_raw(
    path: &Path,
    make: impl FnOnce() -> Result<Zeroizing<Vec<u8>>, KeyError>,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Zeroizing::new(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            let secret = make()?;
            write_private(path, &secret)?;
            Ok(secret)
        }
        Err(e) => Err(e.into()),
    }
}

impl KeyStore for FileKeyStore {
    fn wrap(&self, plain: &[u8]) -> Result<Vec<u8>, KeyError> {
        seal_with(&self.key, KEYSTORE_CONTEXT, plain)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(open_with(&self.key, KEYSTORE_CONTEXT, wrapped)?.to_vec())
    }
}

impl fmt::Debug for FileKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileKeyStore(…)")
    }
}

/// Where a data directory keeps its wrapped keys.
pub fn keys_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::envelope_message;
    use ring::signature::{UnparsedPublicKey, ED25519};

    #[test]
    fn keys_persist_wrapped_and_reset_makes_a_new_identity() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileKeyStore::open(&dir.path().join("store.key")).unwrap();
        let keys = DeviceKeys::open_or_create(&keys_dir(dir.path()), &store).unwrap();
        let again = DeviceKeys::open_or_create(&keys_dir(dir.path()), &store).unwrap();
        assert_eq!(keys.device.public_key(), again.device.public_key());
        // Stored wrapped: the PKCS#8 document's Ed25519 OID does not appear in the file.
        let stored = fs::read(keys_dir(dir.path()).join(DEVICE_FILE)).unwrap();
        assert!(!stored.windows(3).any(|w| w == [0x2B, 0x65, 0x70]));
        let sealed = keys.at_rest.seal(b"ctx", b"draft").unwrap();
        assert_eq!(&*again.at_rest.open(b"ctx", &sealed).unwrap(), b"draft");
        assert!(again.at_rest.open(b"other", &sealed).is_err());

        let old = keys.device.public_key();
        let sig = keys.device.sign_manifest(b"m");
        let mut keys = keys;
        keys.reset_identity(&keys_dir(dir.path()), &store).unwrap();
        assert_ne!(keys.device.public_key(), old);
        // An old signature still verifies under the old key.
        UnparsedPublicKey::new(&ED25519, old)
            .verify(b"m", &sig)
            .unwrap();
    }

    #[test]
    fn signatures_verify_and_are_domain_separated() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileKeyStore::open(&dir.path().join("store.key")).unwrap();
        let keys = DeviceKeys::open_or_create(dir.path(), &store).unwrap();
        let id = Uuid::now_v7();
        let sha = [7u8; 32];
        let sig = keys.device.sign_envelope(id, &sha);
        let public = UnparsedPublicKey::new(&ED25519, keys.device.public_key());
        public.verify(&envelope_message(id, &sha), &sig).unwrap();
        assert!(public
            .verify(&envelope_message(id, &[8u8; 32]), &sig)
            .is_err());
        assert!(public
            .verify(&[id.as_bytes().as_slice(), &sha].concat(), &sig)
            .is_err());
    }

    #[test]
    fn a_wrong_passphrase_or_a_garbage_keystore_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let salt = dir.path().join("salt");
        let right = FileKeyStore::with_passphrase(&salt, "correct horse").unwrap();
        DeviceKeys::open_or_create(&dir.path().join("k"), &right).unwrap();
        let wrong = FileKeyStore::with_passphrase(&salt, "wrong horse").unwrap();
        assert!(matches!(
            DeviceKeys::open_or_create(&dir.path().join("k"), &wrong),
            Err(KeyError::Corrupt)
        ));

        struct Garbage;
        impl KeyStore for Garbage {
            fn wrap(&self, plain: &[u8]) -> Result<Vec<u8>, KeyError> {
                Ok(plain.to_vec())
            }
            fn unwrap(&self, _: &[u8]) -> Result<Vec<u8>, KeyError> {
                Ok(vec![1, 2, 3])
            }
        }
        DeviceKeys::open_or_create(&dir.path().join("g"), &Garbage).unwrap();
        assert!(matches!(
            DeviceKeys::open_or_create(&dir.path().join("g"), &Garbage),
            Err(KeyError::Corrupt)
        ));
    }

    #[test]
    fn debug_output_carries_no_key_material() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileKeyStore::open(&dir.path().join("store.key")).unwrap();
        let keys = DeviceKeys::open_or_create(dir.path(), &store).unwrap();
        let shown = format!("{keys:?} {store:?}");
        let secret = store
            .unwrap(&fs::read(dir.path().join(DEVICE_FILE)).unwrap())
            .unwrap();
        // No 8-byte window of the private seed (bytes 16..48 of ring's PKCS#8 v2 document; the
        // public key follows it and may be shown) appears in hex.
        for w in secret[16..48].windows(8) {
            assert!(!shown.contains(&crate::wire::hex::encode(w)));
        }
        assert!(shown.contains("AtRestKey(…)") && shown.contains("FileKeyStore(…)"));
    }
}

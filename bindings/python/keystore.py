"""What a platform keystore does, for the Python bindings' tests and benchmarks: an AES-GCM key
held in memory wraps and unwraps the core's keys."""

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import sighting_ffi as s


class AesKeyStore(s.KeyStore):
    def __init__(self):
        self.key = AESGCM(AESGCM.generate_key(bit_length=256))

    def wrap(self, plain):
        nonce = os.urandom(12)
        return nonce + self.key.encrypt(nonce, plain, None)

    def unwrap(self, wrapped):
        return self.key.decrypt(wrapped[:12], wrapped[12:], None)

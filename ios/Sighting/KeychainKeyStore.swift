import CryptoKit
import Foundation
import SightingKit

/// The core's `KeyStore` on a Secure Enclave P-256 key (Keychain-held, this device only):
/// wrapping is ECIES (ephemeral ECDH + HKDF + AES-GCM), so unwrapping needs the enclave.
final class KeychainKeyStore: KeyStore {
    private static let tag = "org.sighting.wrap.v1"

    private func key() throws -> SecureEnclave.P256.KeyAgreement.PrivateKey {
        if let data = try Keychain.read(Self.tag) {
            return try SecureEnclave.P256.KeyAgreement.PrivateKey(dataRepresentation: data)
        }
        let access = SecAccessControlCreateWithFlags(
            nil, kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly, .privateKeyUsage, nil)!
        let key = try SecureEnclave.P256.KeyAgreement.PrivateKey(accessControl: access)
        try Keychain.write(Self.tag, key.dataRepresentation)
        return key
    }

    private func symmetric(_ shared: SharedSecret, _ ephemeral: Data) -> SymmetricKey {
        shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: ephemeral,
                                       sharedInfo: Data("sighting-keystore/1".utf8), outputByteCount: 32)
    }

    func wrap(plain: Data) throws -> Data {
        do {
            let recipient = try key().publicKey
            let ephemeral = P256.KeyAgreement.PrivateKey()
            let shared = try ephemeral.sharedSecretFromKeyAgreement(with: recipient)
            let e = ephemeral.publicKey.x963Representation
            let sealed = try AES.GCM.seal(plain, using: symmetric(shared, e))
            return e + sealed.combined!
        } catch {
            throw KeyStoreError.Failed(reason: "Keychain: \(error)")
        }
    }

    func unwrap(wrapped: Data) throws -> Data {
        do {
            let e = wrapped.prefix(65)
            let shared = try key().sharedSecretFromKeyAgreement(
                with: P256.KeyAgreement.PublicKey(x963Representation: e))
            return try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped.dropFirst(65)),
                                    using: symmetric(shared, e))
        } catch {
            throw KeyStoreError.Failed(reason: "Keychain: \(error)")
        }
    }
}

enum Keychain {
    static func read(_ tag: String) throws -> Data? {
        var item: CFTypeRef?
        let query: [String: Any] = [kSecClass as String: kSecClassGenericPassword,
                                    kSecAttrAccount as String: tag, kSecReturnData as String: true]
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess else { throw NSError(domain: NSOSStatusErrorDomain, code: Int(status)) }
        return item as? Data
    }

    static func write(_ tag: String, _ data: Data) throws {
        let item: [String: Any] = [kSecClass as String: kSecClassGenericPassword,
                                   kSecAttrAccount as String: tag, kSecValueData as String: data,
                                   kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly]
        let status = SecItemAdd(item as CFDictionary, nil)
        guard status == errSecSuccess else { throw NSError(domain: NSOSStatusErrorDomain, code: Int(status)) }
    }
}

package org.sighting.app

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import java.security.KeyStore as JcaKeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import org.sighting.KeyStore
import org.sighting.KeyStoreException

/**
 * The core's `KeyStore` on an AES-256-GCM key: on a phone the Android Keystore's (StrongBox
 * where the phone has one), which never leaves the keystore; the core gives it only its own
 * small keys to wrap. `key` says where the key comes from: the JVM tests, which have no Android
 * Keystore, give a software key to test the wrapping contract.
 */
class AndroidKeyStore(private val key: () -> SecretKey = ::keystoreKey) : KeyStore {
    override fun wrap(plain: ByteArray): ByteArray = guarded {
        val cipher = Cipher.getInstance("AES/GCM/NoPadding").apply { init(Cipher.ENCRYPT_MODE, key()) }
        cipher.iv + cipher.doFinal(plain)
    }

    override fun unwrap(wrapped: ByteArray): ByteArray = guarded {
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(128, wrapped, 0, 12))
        cipher.doFinal(wrapped, 12, wrapped.size - 12)
    }

    private fun guarded(block: () -> ByteArray): ByteArray = try {
        block()
    } catch (e: Exception) {
        throw KeyStoreException.Failed("Android Keystore: ${e.javaClass.simpleName}")
    }
}

private const val ALIAS = "sighting-wrap-v1"

/** The app's wrapping key in the Android Keystore, made on first use. */
private fun keystoreKey(): SecretKey {
    val ks = JcaKeyStore.getInstance("AndroidKeyStore").apply { load(null) }
    (ks.getKey(ALIAS, null) as? SecretKey)?.let { return it }
    fun generate(strongBox: Boolean): SecretKey {
        val spec = KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .apply { if (strongBox && Build.VERSION.SDK_INT >= 28) setIsStrongBoxBacked(true) }
            .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
            .apply { init(spec) }.generateKey()
    }
    return try {
        generate(strongBox = true)
    } catch (e: StrongBoxUnavailableException) {
        generate(strongBox = false)
    }
}

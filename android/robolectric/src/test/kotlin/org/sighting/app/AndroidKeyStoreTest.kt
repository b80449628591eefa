package org.sighting.app

import android.app.Application
import java.nio.file.Files
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.sighting.IntakeServer
import org.sighting.KeyStoreException
import org.sighting.SightingClient
import org.sighting.SightingException
import org.sighting.shell.Settings

/**
 * The keystore adapter's contract. Robolectric has no Android Keystore, so the key here is a
 * software AES-256 key from the JVM's own provider: what is tested is the adapter (AES-GCM with
 * a fresh IV, tampering refused with the core's typed error, the core opening its data through
 * it), not the hardware keystore, which only a phone can test.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = Application::class)
class AndroidKeyStoreTest {
    private val softwareKey: SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
    private val adapter = AndroidKeyStore { softwareKey }

    @Test
    fun wrapsAndUnwrapsWithAFreshIvEachTime() {
        val secret = ByteArray(32) { it.toByte() }
        val once = adapter.wrap(secret)
        val twice = adapter.wrap(secret)
        assertEquals(12 + 32 + 16, once.size)
        assertEquals(false, once.contentEquals(twice))
        assertArrayEquals(secret, adapter.unwrap(once))
    }

    @Test
    fun aTamperedOrForeignBlobIsATypedError() {
        val wrapped = adapter.wrap(ByteArray(32))
        wrapped[20] = (wrapped[20].toInt() xor 1).toByte()
        assertThrows(KeyStoreException.Failed::class.java) { adapter.unwrap(wrapped) }
        val other = AndroidKeyStore { KeyGenerator.getInstance("AES").apply { init(256) }.generateKey() }
        assertThrows(KeyStoreException.Failed::class.java) { other.unwrap(adapter.wrap(ByteArray(32))) }
        assertThrows(KeyStoreException.Failed::class.java) { adapter.unwrap(ByteArray(5)) }
    }

    @Test
    fun withoutAnAndroidKeystoreTheErrorIsTypedNotACrash() {
        assertThrows(KeyStoreException.Failed::class.java) { AndroidKeyStore().wrap(ByteArray(32)) }
    }

    @Test
    fun theCoreReopensItsDataThroughTheAdapter() = runBlocking<Unit> {
        val dir = Files.createTempDirectory("sighting-keystore").toFile()
        IntakeServer().use { server ->
            val config = Settings(server.url, server.serverKey, listOf(server.recipient)).clientConfig(dir.path)
            SightingClient(config, adapter).use { it.reports() }
            SightingClient(config, adapter).use { assertEquals(0, it.reports().size) }
            // Another key cannot open what this one wrapped: the core says so, typed.
            val stranger = AndroidKeyStore { KeyGenerator.getInstance("AES").apply { init(256) }.generateKey() }
            assertThrows(SightingException::class.java) { SightingClient(config, stranger).close() }
        }
        dir.deleteRecursively()
    }
}

package org.sighting

import java.io.File
import java.nio.file.Files
import java.security.SecureRandom
import java.time.Instant
import java.util.Collections
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** What an Android Keystore key does, with a JCA AES-GCM key held in memory. */
class AesKeyStore : KeyStore {
    private val key: SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

    override fun wrap(plain: ByteArray): ByteArray {
        val iv = ByteArray(12).also { SecureRandom().nextBytes(it) }
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, key, GCMParameterSpec(128, iv))
        return iv + cipher.doFinal(plain)
    }

    override fun unwrap(wrapped: ByteArray): ByteArray {
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, wrapped.copyOfRange(0, 12)))
        return cipher.doFinal(wrapped.copyOfRange(12, wrapped.size))
    }
}

/** A keystore whose hardware is gone: every call throws an undeclared exception. */
class BrokenKeyStore : KeyStore {
    override fun wrap(plain: ByteArray): ByteArray = throw IllegalStateException("keystore unavailable")
    override fun unwrap(wrapped: ByteArray): ByteArray = throw IllegalStateException("keystore unavailable")
}

class Recorder : EventListener {
    val progress: MutableList<Triple<String, ULong, ULong>> = Collections.synchronizedList(mutableListOf())
    val states: MutableList<Pair<String, ReportState>> = Collections.synchronizedList(mutableListOf())

    override fun onProgress(reportId: String, sent: ULong, total: ULong) {
        progress.add(Triple(reportId, sent, total))
    }

    override fun onStateChanged(reportId: String, state: ReportState, error: AttemptError?, detail: String?) {
        states.add(reportId to state)
    }

    override fun onBulletinsChanged(version: ULong, cases: UInt) {}
}

class SightingClientTest {
    private val dataDir: File = Files.createTempDirectory("sighting-client").toFile()
    private val server = IntakeServer()

    @AfterEach
    fun cleanUp() {
        server.close()
        dataDir.deleteRecursively()
    }

    private fun config(maxPhotoBytes: ULong? = null) = ClientConfig(
        dataDir = dataDir.path,
        recipients = listOf(server.recipient),
        intakeUrl = server.url,
        serverKey = server.serverKey,
        pinnedCaPem = null,
        quotaBytes = null,
        uploadMaxEdge = null,
        maxPhotoBytes = maxPhotoBytes,
        maxPhotoPixels = null,
        chunkBytes = 64u * 1024u,
    )

    private val now = SyncBudget(
        maxWallMs = 30_000u, maxBytes = null, honourBackoff = false, allowMetered = true, metered = false,
    )

    private fun shutter() = ShutterClock(wall = Instant.now(), utcOffsetMinutes = 60, monotonic = null)

    private val amsterdam = CaptureLocation.Fix(
        LocationFix(
            lat = 52.3676, lon = 4.9041, accuracyM = 8.0, altitudeM = null, headingDeg = null,
            fixTime = Instant.now().minusSeconds(2), provider = "fused",
        ),
    )

    @Test
    fun captureSubmitSyncDelivers() = runBlocking<Unit> {
        SightingClient(config(), AesKeyStore()).use { client ->
            val recorder = Recorder()
            client.setListener(recorder)
            val draft = client.capture(PhotoSource.Path(fixture("gps/DSCN0010.jpg").path), amsterdam, shutter())
            assertTrue(draft.width > 0u && draft.removed.isNotEmpty(), draft.toString())
            assertTrue(draft.location is CaptureLocation.Fix)
            val id = client.submit(draft.id, ReportDetails(note = "by the station", tags = mapOf("child_alone" to "yes")))
            assertEquals(ReportState.SEALED, client.reports().single().state)

            val summary = client.sync(now)
            assertEquals(listOf(id), summary.delivered)
            assertEquals(ReportState.DELIVERED, client.reports().single().state)
            assertEquals(listOf(id), server.received())
            assertEquals(listOf(id to ReportState.UPLOADING, id to ReportState.DELIVERED), recorder.states.toList())
            val last = recorder.progress.last()
            assertEquals(last.second, last.third, "the last progress event is the whole report")
            assertTrue(client.thumbnail(id).size > 100)
            assertEquals(1u, client.storage().delivered)
        }
    }

    @Test
    fun badInputIsATypedExceptionAndLosesNothingQueued() = runBlocking<Unit> {
        val keys = AesKeyStore()
        SightingClient(config(), keys).use { client ->
            val draft = client.capture(PhotoSource.Path(fixture("Canon_40D.jpg").path), amsterdam, shutter())
            client.submit(draft.id, ReportDetails(note = null, tags = emptyMap()))
            val notAJpeg = PhotoSource.Bytes("this is not a photo".toByteArray())
            assertThrows<SightingException.InvalidPhoto> { runBlocking { client.capture(notAJpeg, amsterdam, shutter()) } }
            val offTheMap = CaptureLocation.Fix(
                LocationFix(
                    lat = 123.0, lon = 4.9, accuracyM = 5.0, altitudeM = null, headingDeg = null,
                    fixTime = Instant.now(), provider = "gps",
                ),
            )
            val photo = PhotoSource.Path(fixture("Canon_40D.jpg").path)
            assertThrows<SightingException.InvalidLocation> { runBlocking { client.capture(photo, offTheMap, shutter()) } }
            val longNote = ReportDetails(note = "x".repeat(5000), tags = emptyMap())
            val second = client.capture(photo, amsterdam, shutter())
            assertThrows<SightingException.InvalidInput> { runBlocking { client.submit(second.id, longNote) } }
            assertThrows<SightingException.InvalidInput> { runBlocking { client.discard("not-an-id") } }
            assertEquals(ReportState.SEALED, client.reports().first().state, "the queued report is untouched")
        }
        SightingClient(config(maxPhotoBytes = 1000u), keys).use { small ->
            val photo = PhotoSource.Path(fixture("gps/DSCN0010.jpg").path)
            assertThrows<SightingException.PhotoTooLarge> { runBlocking { small.capture(photo, amsterdam, shutter()) } }
            assertEquals(ReportState.SEALED, small.reports().first().state)
        }
    }

    @Test
    fun aThrowingKeystoreIsATypedExceptionNotACrash() {
        val e = assertThrows<SightingException.KeyStore> { SightingClient(config(), BrokenKeyStore()) }
        assertTrue(e.reason.contains("keystore unavailable"), e.reason)
    }

    @Test
    fun wipeLeavesAnEmptyOutbox() = runBlocking<Unit> {
        SightingClient(config(), AesKeyStore()).use { client ->
            repeat(2) {
                val draft = client.capture(PhotoSource.Path(fixture("Canon_40D.jpg").path), amsterdam, shutter())
                client.submit(draft.id, ReportDetails(note = null, tags = emptyMap()))
            }
            assertEquals(2, client.reports().size)
            client.wipe()
            assertEquals(emptyList<OutboxReport>(), client.reports())
            assertEquals(0u, client.storage().waiting)
        }
    }

    @Test
    fun aHundredCapturesDoNotLeak() = runBlocking<Unit> {
        val photo = fixture("gps/DSCN0010.jpg").readBytes()
        SightingClient(config(), AesKeyStore()).use { client ->
            suspend fun captureAndDiscard() {
                val draft = client.capture(PhotoSource.Bytes(photo), amsterdam, shutter())
                client.discard(draft.id)
            }
            repeat(10) { captureAndDiscard() }
            System.gc()
            val before = rssKib()
            repeat(100) { captureAndDiscard() }
            System.gc()
            val grown = rssKib() - before
            assertTrue(grown < 32 * 1024, "RSS grew by $grown KiB over 100 captures")
            assertEquals(emptyList<OutboxReport>(), client.reports())
        }
    }

    private fun rssKib(): Long =
        File("/proc/self/status").readLines().first { it.startsWith("VmRSS:") }
            .removePrefix("VmRSS:").trim().removeSuffix("kB").trim().toLong()
}

package org.sighting.shell

import java.io.File
import java.net.ServerSocket
import java.nio.file.Files
import java.time.Instant
import java.time.ZoneOffset
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.sighting.AesKeyStore
import org.sighting.AttemptError
import org.sighting.CaptureLocation
import org.sighting.IntakeServer
import org.sighting.LocationMissingReason
import org.sighting.PhotoSource
import org.sighting.ReportDetails
import org.sighting.ReportState
import org.sighting.ShutterClock
import org.sighting.SightingClient
import org.sighting.SightingException
import org.sighting.fixture

/** The shells' platform-neutral logic, against the real library and a real intake server. */
class ShellLogicTest {
    private val dataDir: File = Files.createTempDirectory("sighting-shell").toFile()
    private val server = IntakeServer()
    private val shutter = Instant.now()
    private val here = LocationReading(
        permissionGranted = true,
        locationEnabled = true,
        providerAvailable = true,
        fix = LocationReading.Fix(52.3731, 4.8926, 12.0, null, null, shutter.minusSeconds(5), "fused"),
    )

    @AfterEach
    fun cleanUp() {
        server.close()
        dataDir.deleteRecursively()
    }

    private fun settings(url: String = server.url, wifiOnly: Boolean = false) =
        Settings(url, server.serverKey, listOf(server.recipient), wifiOnly = wifiOnly)

    private suspend fun SightingClient.report(location: CaptureLocation): String {
        val clock = ShutterClock(shutter, 60, null)
        val draft = capture(PhotoSource.Path(fixture("gps/DSCN0010.jpg").path), location, clock)
        return submit(draft.id, ReportDetails(null, emptyMap()))
    }

    @Test
    fun theOutboxSaysWhyAReportIsNotSentThenThatItWasDelivered() = runBlocking<Unit> {
        val deadPort = ServerSocket(0).use { it.localPort }
        val outbox = Outbox(ZoneOffset.UTC)
        SightingClient(settings("http://127.0.0.1:$deadPort").clientConfig(dataDir.path), AesKeyStore()).use { offline ->
            offline.setListener(outbox)
            val id = offline.report(captureLocation(here, shutter))
            assertEquals("Waiting for a connection", outbox.rows(offline.reports()).single().status)
            offline.sync(settings().sendNowBudget(meteredNow = false))
            val row = outbox.rows(offline.reports()).single()
            assertEquals(id, row.id)
            assertTrue(row.status.startsWith("Not sent yet: no connection to the organisation. Next try at "), row.status)
            // How long it has waited, and whether that is long enough to suspect the phone.
            val sealed = offline.reports().single().createdAt
            val later = sealed.plus(LONG_WAIT).plusSeconds(20 * 60)
            assertEquals("Waiting 6 h 20 min", outbox.rows(offline.reports(), later).single().waited)
            assertEquals("已等待 6 小时 20 分钟", Outbox(ZoneOffset.UTC, Language.ZH).rows(offline.reports(), later).single().waited)
            assertEquals(LONG_WAIT.plusSeconds(20 * 60), oldestWait(offline.reports(), later))
        }
        // The organisation's server is reachable now; the same data directory, its keys.
        val keys = AesKeyStore()
        val dir = Files.createTempDirectory("sighting-shell-online").toFile()
        SightingClient(settings().clientConfig(dir.path), keys).use { online ->
            online.setListener(outbox)
            online.report(captureLocation(here, shutter))
            online.sync(settings().sendNowBudget(meteredNow = false))
            val row = outbox.rows(online.reports()).single()
            assertEquals("Delivered: the organisation confirmed it", row.status)
            assertEquals(null, row.percent)
            assertEquals(null, row.waited)
            assertEquals(null, oldestWait(online.reports()))
        }
        dir.deleteRecursively()
    }

    @Test
    fun aRefusedConfirmationIsShownAsNotSentNeverAsSending() = runBlocking<Unit> {
        // A receipt key the server does not have: its receipts cannot verify.
        val wrongKey = java.util.Base64.getEncoder().encodeToString(ByteArray(32) { 7 })
        val outbox = Outbox(ZoneOffset.UTC, Language.EN)
        SightingClient(settings().copy(serverKey = wrongKey).clientConfig(dataDir.path), AesKeyStore()).use { client ->
            client.setListener(outbox)
            client.report(captureLocation(here, shutter))
            // The screen as drawn when the attempt ended: the next try (full jitter, possibly a
            // fraction of a second away) is then still ahead. A second before the attempt
            // began, since the queue keeps times to the second.
            val drawnAt = Instant.now().minusSeconds(1)
            val summary = client.sync(settings().sendNowBudget(meteredNow = false))
            assertEquals(AttemptError.ReceiptRefused, summary.retrying.single().error)
            val report = client.reports().single()
            assertEquals(ReportState.SEALED, report.state)
            assertEquals(AttemptError.ReceiptRefused, report.lastError)
            val row = outbox.rows(client.reports(), drawnAt).single()
            assertEquals(null, row.percent, "all bytes were sent, but the report is not delivered")
            assertTrue(row.status.startsWith("Not sent yet: the server's confirmation did not check out. Next try at "), row.status)
            val zh = Outbox(ZoneOffset.UTC, Language.ZH).rows(client.reports(), drawnAt).single()
            assertTrue(zh.status.startsWith("尚未发送：服务器的确认未通过验证。将于 "), zh.status)
        }
    }

    @Test
    fun wifiOnlyKeepsReportsWhileOnMobileData() = runBlocking<Unit> {
        SightingClient(settings(wifiOnly = true).clientConfig(dataDir.path), AesKeyStore()).use { client ->
            client.report(captureLocation(here, shutter))
            val summary = client.sync(settings(wifiOnly = true).backgroundBudget(25, meteredNow = true))
            assertTrue(summary.skippedMetered)
            assertEquals(0uL, summary.bytesSent)
            val onWifi = client.sync(settings(wifiOnly = true).backgroundBudget(25, meteredNow = false))
            assertEquals(1, onWifi.delivered.size)
        }
    }

    @Test
    fun aLocationReadingBecomesAFixOrAnHonestReason() {
        assertTrue(captureLocation(here, shutter) is CaptureLocation.Fix)
        val missing = { r: LocationReading -> (captureLocation(r, shutter) as CaptureLocation.Missing).reason }
        assertEquals(LocationMissingReason.PERMISSION_DENIED, missing(here.copy(permissionGranted = false)))
        assertEquals(LocationMissingReason.DISABLED, missing(here.copy(locationEnabled = false)))
        assertEquals(LocationMissingReason.NO_FIX, missing(here.copy(fix = null)))
        assertEquals(LocationMissingReason.NO_PROVIDER, missing(here.copy(providerAvailable = false, fix = null)))
        val old = here.fix!!.copy(time = shutter.minus(MAX_FIX_AGE).minusSeconds(1))
        assertEquals(LocationMissingReason.STALE, missing(here.copy(fix = old)))
    }

    @Test
    fun aFailedCaptureGetsAPlainMessage() = runBlocking<Unit> {
        SightingClient(settings().clientConfig(dataDir.path), AesKeyStore()).use { client ->
            val e = assertThrows<SightingException> {
                runBlocking {
                    client.capture(PhotoSource.Bytes(ByteArray(10)), captureLocation(here, shutter), ShutterClock(shutter, 0, null))
                }
            }
            assertEquals("This photo cannot be used. Please take it again.", userMessage(e))
        }
    }
}

package org.sighting

import java.io.File
import java.nio.file.Files
import java.time.Instant
import java.util.Collections
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The missing-children list and observations through the Kotlin bindings, against the real intake. */
class BulletinsTest {
    private val dataDir: File = Files.createTempDirectory("sighting-bulletins").toFile()
    private val server = IntakeServer()

    @AfterEach
    fun cleanUp() {
        server.close()
        dataDir.deleteRecursively()
    }

    private fun config(bulletinKey: String? = server.bulletinKey) = ClientConfig(
        dataDir = dataDir.path,
        recipients = listOf(server.recipient),
        intakeUrl = server.url,
        serverKey = server.serverKey,
        pinnedCaPem = null,
        quotaBytes = null,
        uploadMaxEdge = null,
        maxPhotoBytes = null,
        maxPhotoPixels = null,
        chunkBytes = null,
        bulletinKey = bulletinKey,
    )

    private val here = LocationFix(
        lat = 52.36, lon = 4.86, accuracyM = 20.0, altitudeM = null, headingDeg = null,
        fixTime = Instant.now(), provider = "fused",
    )

    class Heard : EventListener {
        val bulletins: MutableList<UInt> = Collections.synchronizedList(mutableListOf())
        override fun onProgress(reportId: String, sent: ULong, total: ULong) {}
        override fun onStateChanged(reportId: String, state: ReportState, error: AttemptError?, detail: String?) {}
        override fun onBulletinsChanged(version: ULong, cases: UInt) {
            bulletins.add(cases)
        }
    }

    @Test
    fun nearbyCasesAreListedOfflineAndAClosedOneVanishes() = runBlocking<Unit> {
        server.publish(listOf(Triple("C-1", 52.37, 4.90), Triple("C-2", 52.09, 5.12), Triple("C-3", 39.92, 116.44)))
        SightingClient(config(), AesKeyStore()).use { client ->
            val heard = Heard()
            client.setListener(heard)
            val refresh = client.refreshBulletins(here)
            assertEquals(2u, refresh.cases)
            assertTrue(refresh.changed)
            val list = client.bulletins(here)
            assertEquals(listOf("C-1", "C-2"), list.cases.map { it.caseNumber }, "nearest first, Beijing not fetched")
            assertTrue(list.cases[0].distanceM!! < list.cases[1].distanceM!!)
            assertEquals(Sex.BOY, list.cases[0].sex)
            // The list carries no photo: it is fetched, checked and kept when the case is opened.
            assertEquals(1u, list.cases[0].photoCount)
            assertEquals(listOf<Byte>(-1, -40), client.casePhoto("C-1", 0u).take(2))
            assertTrue(list.safetyLine!!.en.contains("approach") && list.safetyLine!!.zh.isNotEmpty())
            assertTrue(list.status is BulletinStatus.Current)

            server.publish(emptyList(), close = listOf("C-2"))
            assertEquals(1u, client.refreshBulletins(null).cases)
            assertEquals(listOf("C-1"), client.bulletins(here).cases.map { it.caseNumber })
            assertEquals(listOf(2u, 1u), heard.bulletins.toList())
        }
    }

    @Test
    fun aFeedSignedByAnotherKeyIsRefusedAndNothingIsShown() = runBlocking<Unit> {
        server.publish(listOf(Triple("C-1", 52.37, 4.90)))
        val stranger = IntakeServer().use { it.bulletinKey }
        SightingClient(config(bulletinKey = stranger), AesKeyStore()).use { client ->
            assertThrows<SightingException.BulletinsRefused> { runBlocking { client.refreshBulletins(here) } }
            val list = client.bulletins(null)
            assertEquals(BulletinStatus.NotFetched, list.status)
            assertEquals(0, list.cases.size)
        }
    }

    @Test
    fun observationsAreCheckedAndSealed() = runBlocking<Unit> {
        SightingClient(config(), AesKeyStore()).use { client ->
            val photo = PhotoSource.Path(fixture("Canon_40D.jpg").path)
            val location = CaptureLocation.Fix(here)
            val shutter = ShutterClock(wall = Instant.now(), utcOffsetMinutes = 60, monotonic = null)
            val draft = client.capture(photo, location, shutter)
            val badNumber = ReportDetails(null, emptyMap(), Observations(caseNumber = "C-1/../x"))
            assertThrows<SightingException.InvalidInput> { runBlocking { client.submit(draft.id, badNumber) } }
            val seen = Observations(
                caseNumber = "C-1", sex = Sex.BOY, ageBand = AgeBand.FROM5_TO9,
                injuryOrDisability = false, withAdults = WithAdults.SEVERAL, activity = Activity.SELLING,
            )
            client.submit(draft.id, ReportDetails(null, emptyMap(), seen))
            assertEquals(ReportState.SEALED, client.reports().single().state)
        }
    }
}

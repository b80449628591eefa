package org.sighting.app

import androidx.activity.ComponentActivity
import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.semantics.getOrNull
import androidx.compose.ui.test.SemanticsMatcher
import androidx.compose.ui.test.junit4.createAndroidComposeRule
import androidx.compose.ui.test.onAllNodesWithText
import androidx.compose.ui.test.onNodeWithText
import java.time.Instant
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Rule
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.sighting.CaptureLocation
import org.sighting.IntakeServer
import org.sighting.LocationMissingReason
import org.sighting.PhotoSource
import org.sighting.ReportDetails
import org.sighting.ShutterClock
import org.sighting.fixture
import org.sighting.shell.Settings

/**
 * The outbox screen itself, composed and rendered under Robolectric: a report queued through
 * the real library shows its state and how long it has waited, in the phone's language.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = TestApp::class)
class OutboxScreenTest {
    @get:Rule
    val compose = createAndroidComposeRule<ComponentActivity>()
    private val app get() = compose.activity.application as TestApp
    private val server = IntakeServer()

    @After
    fun stop() {
        app.reopen()
        server.close()
    }

    /** Queues one report (not sent: nothing syncs here) and shows the outbox. */
    private fun outboxWithOneReport() {
        app.organisation = Settings(server.url, server.serverKey, listOf(server.recipient), bulletinKey = server.bulletinKey)
        runBlocking {
            val client = app.client()
            val draft = client.capture(
                PhotoSource.Path(fixture("gps/DSCN0010.jpg").path),
                CaptureLocation.Missing(LocationMissingReason.NO_PROVIDER),
                ShutterClock(Instant.now(), 480, null),
            )
            client.submit(draft.id, ReportDetails("seen near the station", emptyMap()))
        }
        compose.setContent { OutboxScreen(compose.activity) }
    }

    // A loaded machine takes a while to compose the first screen.
    private fun waitForText(text: String) {
        compose.waitUntil(30_000) { compose.onAllNodesWithText(text).fetchSemanticsNodes().isNotEmpty() }
        compose.onNodeWithText(text).assertExists()
    }

    /** A text the screen shows that matches `pattern` (the minutes waited depend on the clock). */
    private fun waitForMatch(pattern: Regex) {
        val matches = SemanticsMatcher("text matches $pattern") { node ->
            node.config.getOrNull(SemanticsProperties.Text)?.any { pattern.matches(it.text) } == true
        }
        compose.waitUntil(30_000) { compose.onAllNodes(matches).fetchSemanticsNodes().isNotEmpty() }
    }

    @Test
    @Config(qualifiers = "en")
    fun aQueuedReportShowsItsStateAndWaitInEnglish() {
        outboxWithOneReport()
        waitForText("Waiting for a connection")
        waitForMatch(Regex("Waiting \\d+ min"))
    }

    @Test
    @Config(qualifiers = "zh-rCN")
    fun aQueuedReportShowsItsStateAndWaitInChinese() {
        outboxWithOneReport()
        waitForText("等待网络连接")
        waitForMatch(Regex("已等待 \\d+ 分钟"))
    }
}

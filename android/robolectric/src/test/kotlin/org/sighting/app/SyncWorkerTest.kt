package org.sighting.app

import android.content.Context
import org.robolectric.RuntimeEnvironment
import androidx.work.Data
import androidx.work.ListenableWorker
import androidx.work.WorkerFactory
import androidx.work.WorkerParameters
import androidx.work.impl.utils.futures.SettableFuture
import androidx.work.impl.utils.taskexecutor.WorkManagerTaskExecutor
import java.net.ServerSocket
import java.time.Instant
import java.util.UUID
import java.util.concurrent.Executors
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.sighting.CaptureLocation
import org.sighting.IntakeServer
import org.sighting.LocationMissingReason
import org.sighting.PhotoSource
import org.sighting.ReportDetails
import org.sighting.ReportState
import org.sighting.ShutterClock
import org.sighting.fixture
import org.sighting.shell.Settings

/** The background sync as WorkManager runs it, against a real intake server on loopback. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = TestApp::class)
class SyncWorkerTest {
    private val app = RuntimeEnvironment.getApplication() as TestApp
    private val server = IntakeServer()
    private val executor = Executors.newSingleThreadExecutor()

    @After
    fun stop() {
        app.reopen()
        server.close()
        executor.shutdown()
    }

    private fun organisation(url: String) =
        Settings(url, server.serverKey, listOf(server.recipient), bulletinKey = server.bulletinKey)

    private val noOtherWorkers = object : WorkerFactory() {
        override fun createWorker(appContext: Context, workerClassName: String, workerParameters: WorkerParameters) = null
    }

    private fun done() = SettableFuture.create<Void>().apply { set(null) }

    private fun worker(context: Context) = SyncWorker(
        context,
        WorkerParameters(
            UUID.randomUUID(), Data.EMPTY, emptyList(), WorkerParameters.RuntimeExtras(), 0, 0, executor,
            Dispatchers.Default, WorkManagerTaskExecutor(executor), noOtherWorkers,
            { _, _, _ -> done() }, { _, _, _ -> done() },
        ),
    )

    private fun queueOne(): String = runBlocking {
        val client = app.client()
        val draft = client.capture(
            PhotoSource.Path(fixture("gps/DSCN0010.jpg").path),
            CaptureLocation.Missing(LocationMissingReason.NO_PROVIDER),
            ShutterClock(Instant.now(), 480, null),
        )
        client.submit(draft.id, ReportDetails("seen near the station", emptyMap()))
    }

    @Test
    fun theWorkerDeliversWhatWaits() {
        app.organisation = organisation(server.url)
        val id = queueOne()
        val result = runBlocking { worker(app).doWork() }
        assertEquals(ListenableWorker.Result.success(), result)
        assertEquals(1, server.received().size)
        val state = runBlocking { app.client().reports() }.single { it.id == id }.state
        assertEquals(ReportState.DELIVERED, state)
    }

    @Test
    fun anUnreachableServerIsRetriedAndNothingIsLost() {
        val deadPort = ServerSocket(0).use { it.localPort }
        app.organisation = organisation("http://127.0.0.1:$deadPort")
        val id = queueOne()
        val result = runBlocking { worker(app).doWork() }
        assertEquals(ListenableWorker.Result.retry(), result)
        val state = runBlocking { app.client().reports() }.single { it.id == id }.state
        assertEquals(ReportState.SEALED, state)
    }
}

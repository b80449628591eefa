package org.sighting.app

import android.Manifest
import android.os.Bundle
import android.view.WindowManager
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.ImageCapture
import androidx.camera.core.ImageCaptureException
import androidx.camera.view.LifecycleCameraController
import androidx.camera.view.PreviewView
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Switch
import androidx.compose.material3.Tab
import androidx.compose.material3.TabRow
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.content.ContextCompat
import java.io.File
import java.time.Instant
import java.time.ZoneId
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.sighting.DraftSummary
import org.sighting.PhotoSource
import org.sighting.ShutterClock
import org.sighting.SightingException
import org.sighting.shell.OutboxRow
import org.sighting.shell.captureLocation
import org.sighting.shell.userMessage

/**
 * The app's screens: capture, note + send (with what the reporter saw), the missing-children
 * list and a case page, the outbox, settings (with the panic wipe). Every word is a string
 * resource (`values/`, `values-zh-rCN/`) or comes from the shared shell's words.
 */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // The child's photo is on screen: no screenshots, no recents thumbnail.
        window.addFlags(WindowManager.LayoutParams.FLAG_SECURE)
        registerForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) {}
            .launch(arrayOf(Manifest.permission.CAMERA, Manifest.permission.ACCESS_FINE_LOCATION))
        SyncWorker.schedule(this)
        setContent { MaterialTheme { Screens() } }
    }

    @Composable
    private fun Screens() {
        var tab by remember { mutableIntStateOf(0) }
        var draft by remember { mutableStateOf<DraftSummary?>(null) }
        // "I may have seen this child" on a case page: the next capture is linked to that case.
        var linkedCase by remember { mutableStateOf<String?>(null) }
        Column(Modifier.fillMaxSize()) {
            TabRow(selectedTabIndex = tab) {
                listOf(R.string.tab_capture, R.string.tab_children, R.string.tab_outbox, R.string.tab_settings)
                    .forEachIndexed { i, title ->
                        Tab(selected = tab == i, onClick = { tab = i }, text = { Text(stringResource(title)) })
                    }
            }
            when {
                tab == 0 && draft == null -> CaptureScreen { draft = it }
                tab == 0 -> NoteScreen(this@MainActivity, draft!!, linkedCase, { linkedCase = null }) {
                    draft = null
                    linkedCase = null
                    tab = 2
                }
                tab == 1 -> MissingChildrenScreen(this@MainActivity) { number -> linkedCase = number; tab = 0 }
                tab == 2 -> OutboxScreen()
                else -> SettingsScreen()
            }
        }
    }

    @Composable
    private fun CaptureScreen(onDraft: (DraftSummary) -> Unit) {
        val scope = rememberCoroutineScope()
        val controller = remember {
            LifecycleCameraController(this).apply {
                setEnabledUseCases(LifecycleCameraController.IMAGE_CAPTURE)
                bindToLifecycle(this@MainActivity)
            }
        }
        val location = remember { LocationAtShutter(this) }
        var message by remember { mutableStateOf<String?>(null) }
        Column(Modifier.fillMaxSize()) {
            AndroidView({ PreviewView(it).apply { this.controller = controller } }, Modifier.weight(1f).fillMaxWidth())
            message?.let { Text(it, Modifier.padding(8.dp), color = Color(0xFFB00020)) }
            Button(
                onClick = {
                    val shutter = Instant.now()
                    location.request()
                    // App-private cache only: never MediaStore, never the gallery.
                    val file = File(cacheDir, "shutter-${System.nanoTime()}.jpg")
                    controller.takePicture(
                        ImageCapture.OutputFileOptions.Builder(file).build(),
                        ContextCompat.getMainExecutor(this@MainActivity),
                        object : ImageCapture.OnImageSavedCallback {
                            override fun onImageSaved(output: ImageCapture.OutputFileResults) {
                                scope.launch {
                                    try {
                                        val where = captureLocation(location.reading(), shutter)
                                        val offset = ZoneId.systemDefault().rules.getOffset(shutter).totalSeconds / 60
                                        val summary = withContext(Dispatchers.IO) {
                                            sighting.client().capture(PhotoSource.Path(file.path), where, ShutterClock(shutter, offset, null))
                                        }
                                        onDraft(summary)
                                    } catch (e: SightingException) {
                                        message = userMessage(e)
                                    } finally {
                                        file.delete() // the only plaintext copy outside the core
                                    }
                                }
                            }

                            override fun onError(e: ImageCaptureException) {
                                file.delete()
                                message = getString(R.string.camera_failed)
                            }
                        },
                    )
                },
                modifier = Modifier.fillMaxWidth().padding(16.dp),
            ) { Text(stringResource(R.string.take_photo)) }
        }
    }

    @Composable
    private fun OutboxScreen() {
        var rows by remember { mutableStateOf(emptyList<OutboxRow>()) }
        LaunchedEffect(Unit) {
            while (true) {
                rows = withContext(Dispatchers.IO) { sighting.outbox.rows(sighting.client().reports()) }
                delay(500)
            }
        }
        LazyColumn(Modifier.padding(16.dp)) {
            items(rows, key = { it.id }) { row ->
                Text(
                    row.status,
                    Modifier.padding(vertical = 8.dp),
                    color = if (row.needsAttention) Color(0xFFB00020) else Color.Unspecified,
                )
            }
        }
    }

    @Composable
    private fun SettingsScreen() {
        val scope = rememberCoroutineScope()
        val store = remember { SettingsStore(this) }
        val current = remember { store.load() }
        var url by remember { mutableStateOf(current.intakeUrl) }
        var wifiOnly by remember { mutableStateOf(current.wifiOnly) }
        var wiped by remember { mutableStateOf(false) }
        Column(Modifier.padding(16.dp)) {
            OutlinedTextField(
                url, { url = it }, label = { Text(stringResource(R.string.settings_server)) }, modifier = Modifier.fillMaxWidth(),
            )
            Row { Text(stringResource(R.string.wifi_only), Modifier.weight(1f)); Switch(wifiOnly, { wifiOnly = it }) }
            Button(onClick = { store.save(url, wifiOnly); sighting.reopen(); SyncWorker.schedule(this@MainActivity) }) {
                Text(stringResource(R.string.save))
            }
            // Panic wipe: keys first, then every draft and report; no confirmation dialog to linger on screen.
            Button(
                onClick = { scope.launch(Dispatchers.IO) { sighting.client().wipe(); wiped = true } },
                modifier = Modifier.padding(top = 32.dp),
            ) { Text(stringResource(R.string.erase_now)) }
            if (wiped) Text(stringResource(R.string.erased))
        }
    }
}

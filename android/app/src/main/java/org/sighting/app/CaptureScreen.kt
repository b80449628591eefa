package org.sighting.app

import androidx.activity.ComponentActivity
import androidx.camera.core.ImageCapture
import androidx.camera.core.ImageCaptureException
import androidx.camera.view.LifecycleCameraController
import androidx.camera.view.PreviewView
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
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
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.sighting.DraftSummary
import org.sighting.PhotoSource
import org.sighting.ShutterClock
import org.sighting.SightingException
import org.sighting.shell.captureLocation
import org.sighting.shell.userMessage

/** The camera (CameraX) with the location fix asked for at the shutter. */
@Composable
internal fun CaptureScreen(activity: ComponentActivity, onDraft: (DraftSummary) -> Unit) {
    val scope = rememberCoroutineScope()
    val controller = remember {
        LifecycleCameraController(activity).apply {
            setEnabledUseCases(LifecycleCameraController.IMAGE_CAPTURE)
            bindToLifecycle(activity)
        }
    }
    val location = remember { LocationAtShutter(activity) }
    var message by remember { mutableStateOf<String?>(null) }
    Column(Modifier.fillMaxSize()) {
        AndroidView({ PreviewView(it).apply { this.controller = controller } }, Modifier.weight(1f).fillMaxWidth())
        message?.let { Text(it, Modifier.padding(8.dp), color = Color(0xFFB00020)) }
        Button(
            onClick = {
                val shutter = Instant.now()
                location.request()
                // App-private cache only: never MediaStore, never the gallery.
                val file = File(activity.cacheDir, "shutter-${System.nanoTime()}.jpg")
                controller.takePicture(
                    ImageCapture.OutputFileOptions.Builder(file).build(),
                    ContextCompat.getMainExecutor(activity),
                    object : ImageCapture.OnImageSavedCallback {
                        override fun onImageSaved(output: ImageCapture.OutputFileResults) {
                            scope.launch {
                                try {
                                    val where = captureLocation(location.reading(), shutter)
                                    val offset = ZoneId.systemDefault().rules.getOffset(shutter).totalSeconds / 60
                                    val summary = withContext(Dispatchers.IO) {
                                        activity.sighting.client().capture(PhotoSource.Path(file.path), where, ShutterClock(shutter, offset, null))
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
                            message = activity.getString(R.string.camera_failed)
                        }
                    },
                )
            },
            modifier = Modifier.fillMaxWidth().padding(16.dp),
        ) { Text(stringResource(R.string.take_photo)) }
    }
}

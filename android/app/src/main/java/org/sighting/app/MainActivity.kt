package org.sighting.app

import android.Manifest
import android.os.Bundle
import android.view.WindowManager
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Tab
import androidx.compose.material3.TabRow
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import org.sighting.DraftSummary

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

    /** Each time the app comes to the front: phones that stop background work still send. */
    override fun onStart() {
        super.onStart()
        SyncWorker.now(this)
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
                tab == 0 && draft == null -> CaptureScreen(this@MainActivity) { draft = it }
                tab == 0 -> NoteScreen(this@MainActivity, draft!!, linkedCase, { linkedCase = null }) {
                    draft = null
                    linkedCase = null
                    tab = 2
                }
                tab == 1 -> MissingChildrenScreen(this@MainActivity) { number -> linkedCase = number; tab = 0 }
                tab == 2 -> OutboxScreen(this@MainActivity)
                else -> SettingsScreen(this@MainActivity)
            }
        }
    }
}

package org.sighting.app

import androidx.activity.ComponentActivity
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch

/** The intake server, Wi-Fi only, and the panic wipe. */
@Composable
internal fun SettingsScreen(activity: ComponentActivity) {
    val scope = rememberCoroutineScope()
    val store = remember { SettingsStore(activity) }
    val current = remember { store.load() }
    var url by remember { mutableStateOf(current.intakeUrl) }
    var wifiOnly by remember { mutableStateOf(current.wifiOnly) }
    var wiped by remember { mutableStateOf(false) }
    Column(Modifier.padding(16.dp)) {
        OutlinedTextField(
            url, { url = it }, label = { Text(stringResource(R.string.settings_server)) }, modifier = Modifier.fillMaxWidth(),
        )
        Row { Text(stringResource(R.string.wifi_only), Modifier.weight(1f)); Switch(wifiOnly, { wifiOnly = it }) }
        Button(onClick = { store.save(url, wifiOnly); activity.sighting.reopen(); SyncWorker.schedule(activity) }) {
            Text(stringResource(R.string.save))
        }
        // Panic wipe: keys first, then every draft and report; no confirmation dialog to linger on screen.
        Button(
            onClick = { scope.launch(Dispatchers.IO) { activity.sighting.client().wipe(); wiped = true } },
            modifier = Modifier.padding(top = 32.dp),
        ) { Text(stringResource(R.string.erase_now)) }
        if (wiped) Text(stringResource(R.string.erased))
    }
}

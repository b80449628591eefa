package org.sighting.app

import androidx.activity.ComponentActivity
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.withContext
import org.sighting.shell.LONG_WAIT
import org.sighting.shell.OutboxRow
import org.sighting.shell.oldestWait

/**
 * The reports on this phone, each with how long it has waited; on a phone whose maker stops
 * background work, once a report waited past [LONG_WAIT], what to allow and a button to it.
 */
@Composable
internal fun OutboxScreen(activity: ComponentActivity) {
    var rows by remember { mutableStateOf(emptyList<OutboxRow>()) }
    var advice by remember { mutableStateOf<BackgroundLimits?>(null) }
    LaunchedEffect(Unit) {
        while (true) {
            val reports = withContext(Dispatchers.IO) { activity.sighting.client().reports() }
            rows = activity.sighting.outbox.rows(reports)
            advice = BackgroundLimits.advice(oldestWait(reports))
            delay(500)
        }
    }
    LazyColumn(Modifier.padding(16.dp)) {
        advice?.let { limits ->
            item {
                Column(Modifier.padding(bottom = 16.dp)) {
                    Text(stringResource(R.string.background_advice, LONG_WAIT.toHours().toInt()))
                    Text(stringResource(limits.steps), Modifier.padding(vertical = 8.dp))
                    Button(onClick = { activity.startActivity(limits.settingsIntent(activity)) }) {
                        Text(stringResource(R.string.background_open_settings))
                    }
                }
            }
        }
        items(rows, key = { it.id }) { row ->
            Column(Modifier.padding(vertical = 8.dp)) {
                Text(row.status, color = if (row.needsAttention) Color(0xFFB00020) else Color.Unspecified)
                row.waited?.let { Text(it) }
            }
        }
    }
}

package org.sighting.app

import android.graphics.BitmapFactory
import androidx.activity.ComponentActivity
import androidx.compose.foundation.Image
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.sighting.BulletinList
import org.sighting.LocationFix
import org.sighting.SightingException
import org.sighting.shell.MissingChildRow
import org.sighting.shell.MissingChildren
import org.sighting.shell.userMessage

/**
 * The organisation's published cases near the phone, offline, nearest first; a case page with
 * the photo, the safety line and "I may have seen this child", which links the next capture to
 * the case. Only a coarse area is ever asked for (the core picks 5° cells around the fix); the
 * list carries no photos, so a case's photo is fetched (and checked, and kept) when it is opened.
 */
@Composable
internal fun MissingChildrenScreen(activity: ComponentActivity, mayBe: (String) -> Unit) {
    val shell = remember { MissingChildren() }
    val location = remember { LocationAtShutter(activity) }
    val scope = rememberCoroutineScope()
    var list by remember { mutableStateOf<BulletinList?>(null) }
    var open by remember { mutableStateOf<MissingChildRow?>(null) }
    var message by remember { mutableStateOf<String?>(null) }

    suspend fun here(): LocationFix? {
        location.request()
        return location.reading().fix?.let {
            LocationFix(it.lat, it.lon, it.accuracyM, null, null, it.time, it.provider)
        }
    }
    suspend fun load(update: Boolean) {
        try {
            val near = here()
            list = withContext(Dispatchers.IO) {
                val client = activity.sighting.client()
                if (update) client.refreshBulletins(near)
                client.bulletins(near)
            }
            message = null
        } catch (e: SightingException) {
            message = userMessage(e)
            // A failed update keeps the list held: show it (if even that cannot be read, the
            // message above says why).
            list = try {
                withContext(Dispatchers.IO) { activity.sighting.client().bulletins(null) }
            } catch (again: SightingException) {
                null
            }
        }
    }
    LaunchedEffect(Unit) { load(update = false) }

    val shown = open
    Column(Modifier.padding(16.dp)) {
        message?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        list?.let { current ->
            // The case opened may have left the list at an update (closed, or the feed expired).
            val case = shown?.let { s -> current.cases.firstOrNull { it.caseNumber == s.caseNumber } }
            if (shown == null || case == null) {
                Text(shell.header(current))
                Button(onClick = { scope.launch { load(update = true) } }) { Text(stringResource(R.string.children_update)) }
                shell.safetyLine(current)?.takeIf { current.cases.isNotEmpty() }?.let {
                    Text(it, fontWeight = FontWeight.Bold, modifier = Modifier.padding(vertical = 8.dp))
                }
                LazyColumn {
                    items(shell.rows(current), key = { it.caseNumber }) { row ->
                        Row(Modifier.fillMaxWidth().clickable { open = row }.padding(vertical = 8.dp)) {
                            Column {
                                Text(row.title, fontWeight = FontWeight.Bold)
                                Text(row.details)
                                row.distance?.let { Text(it) }
                            }
                        }
                    }
                }
            } else {
                if (shown.hasPhoto) Photo(activity, shown, Modifier.size(240.dp))
                Text(shown.title, fontWeight = FontWeight.Bold)
                Text(shown.details)
                if (case.marks.isNotBlank()) Text(stringResource(R.string.case_marks, case.marks))
                shell.safetyLine(current)?.let { Text(it, fontWeight = FontWeight.Bold, modifier = Modifier.padding(vertical = 8.dp)) }
                Button(onClick = { mayBe(shown.caseNumber) }) { Text(stringResource(R.string.may_be_this_child)) }
                Button(onClick = { open = null }, Modifier.padding(top = 8.dp)) { Text(stringResource(R.string.children_back)) }
            }
        }
    }
}

/** The case's first photo, from the core (the phone's encrypted copy, or fetched now). */
@Composable
private fun Photo(activity: ComponentActivity, row: MissingChildRow, modifier: Modifier) {
    var bitmap by remember(row.caseNumber) { mutableStateOf<ImageBitmap?>(null) }
    var failed by remember(row.caseNumber) { mutableStateOf<String?>(null) }
    LaunchedEffect(row.caseNumber) {
        try {
            val jpeg = withContext(Dispatchers.IO) { activity.sighting.client().casePhoto(row.caseNumber, 0u) }
            bitmap = BitmapFactory.decodeByteArray(jpeg, 0, jpeg.size)?.asImageBitmap()
        } catch (e: SightingException) {
            failed = userMessage(e)
        }
    }
    failed?.let { Text(it, color = MaterialTheme.colorScheme.error) }
    bitmap?.let { Image(it, stringResource(R.string.case_photo_description, row.title), modifier) }
}

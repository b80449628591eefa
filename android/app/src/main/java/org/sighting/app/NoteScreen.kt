package org.sighting.app

import androidx.activity.ComponentActivity
import androidx.annotation.StringRes
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.OutlinedTextField
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
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.sighting.Activity
import org.sighting.AgeBand
import org.sighting.DraftSummary
import org.sighting.Observations
import org.sighting.ReportDetails
import org.sighting.Sex
import org.sighting.SightingException
import org.sighting.WithAdults
import org.sighting.shell.userMessage

/**
 * After the shutter: the reporter's note, what they saw (chosen from lists, each optional), the
 * case they linked from a case page (removable), then send or discard.
 */
@Composable
internal fun NoteScreen(
    activity: ComponentActivity,
    draft: DraftSummary,
    linkedCase: String?,
    unlink: () -> Unit,
    done: () -> Unit,
) {
    val scope = rememberCoroutineScope()
    var note by remember { mutableStateOf("") }
    var seen by remember { mutableStateOf(Observations()) }
    var message by remember { mutableStateOf<String?>(null) }
    Column(Modifier.padding(16.dp).verticalScroll(rememberScrollState())) {
        Text(stringResource(R.string.photo_ready, draft.width.toInt(), draft.height.toInt()))
        OutlinedTextField(
            note, { note = it }, label = { Text(stringResource(R.string.note_label)) }, modifier = Modifier.fillMaxWidth(),
        )
        linkedCase?.let { number ->
            Row {
                Text(stringResource(R.string.linked_case, number), Modifier.weight(1f).padding(top = 12.dp))
                Button(onClick = unlink) { Text(stringResource(R.string.unlink_case)) }
            }
        }
        Text(stringResource(R.string.observations_title), Modifier.padding(top = 12.dp))
        Choice(R.string.sex_label, seen.sex, listOf(Sex.GIRL to R.string.sex_girl, Sex.BOY to R.string.sex_boy, Sex.UNKNOWN to R.string.sex_unknown)) {
            seen = seen.copy(sex = it)
        }
        Choice(
            R.string.age_label, seen.ageBand,
            listOf(
                AgeBand.UNDER5 to R.string.age_under_5, AgeBand.FROM5_TO9 to R.string.age_5_to_9,
                AgeBand.FROM10_TO13 to R.string.age_10_to_13, AgeBand.FROM14_TO17 to R.string.age_14_to_17,
            ),
        ) { seen = seen.copy(ageBand = it) }
        Choice(R.string.injury_label, seen.injuryOrDisability, listOf(true to R.string.yes, false to R.string.no)) {
            seen = seen.copy(injuryOrDisability = it)
        }
        Choice(
            R.string.adults_label, seen.withAdults,
            listOf(WithAdults.NONE to R.string.adults_none, WithAdults.ONE to R.string.adults_one, WithAdults.SEVERAL to R.string.adults_several),
        ) { seen = seen.copy(withAdults = it) }
        Choice(
            R.string.activity_label, seen.activity,
            listOf(
                Activity.BEGGING to R.string.activity_begging, Activity.SELLING to R.string.activity_selling,
                Activity.PERFORMING to R.string.activity_performing, Activity.OTHER to R.string.activity_other,
            ),
        ) { seen = seen.copy(activity = it) }
        message?.let { Text(it, color = Color(0xFFB00020)) }
        Row(Modifier.padding(top = 12.dp)) {
            Button(onClick = {
                scope.launch {
                    try {
                        val details = ReportDetails(note.ifBlank { null }, emptyMap(), seen.copy(caseNumber = linkedCase))
                        withContext(Dispatchers.IO) { activity.sighting.client().submit(draft.id, details) }
                        SyncWorker.now(activity)
                        done()
                    } catch (e: SightingException) {
                        message = userMessage(e)
                    }
                }
            }) { Text(stringResource(R.string.send)) }
            Button(
                onClick = { scope.launch(Dispatchers.IO) { activity.sighting.client().discard(draft.id) }; done() },
                Modifier.padding(start = 8.dp),
            ) { Text(stringResource(R.string.discard)) }
        }
    }
}

/** One question answered from a list; tapping the chosen answer again clears it. */
@Composable
private fun <T> Choice(@StringRes label: Int, chosen: T?, answers: List<Pair<T, Int>>, choose: (T?) -> Unit) {
    Text(stringResource(label), Modifier.padding(top = 8.dp))
    Row {
        for ((value, words) in answers) {
            FilterChip(
                selected = chosen == value,
                onClick = { choose(if (chosen == value) null else value) },
                label = { Text(stringResource(words)) },
                modifier = Modifier.padding(end = 4.dp),
            )
        }
    }
}

package org.sighting.shell

import java.time.Duration
import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.util.concurrent.ConcurrentHashMap
import org.sighting.AttemptError
import org.sighting.EventListener
import org.sighting.OutboxReport
import org.sighting.ReportState

/** One line of the outbox screen: what the reporter reads, nothing more. */
data class OutboxRow(
    val id: String,
    val status: String,
    /** 0..100 while sending, else null. */
    val percent: Int?,
    /** Shown in the warning colour: the reporter may want to act (rejected, a problem). */
    val needsAttention: Boolean,
    /** How long a report not yet sent has waited since it was sealed ("Waiting 3 h 20 min"). */
    val waited: String?,
)

/** Reports that have waited this long suggest the phone stops the app's background work. */
val LONG_WAIT: Duration = Duration.ofHours(6)

/** How long the oldest report not yet sent has waited, or null when none waits. */
fun oldestWait(reports: List<OutboxReport>, now: Instant = Instant.now()): Duration? =
    reports.filter { it.state == ReportState.SEALED || it.state == ReportState.UPLOADING }
        .minOfOrNull { it.createdAt }?.let { Duration.between(it, now).coerceAtLeast(Duration.ZERO) }

/**
 * The outbox as the shells show it: `reports()` rows with the sync engine's events laid over
 * them. Every event carries the state the report's row has after it, and the rows switch on
 * the typed `AttemptError`, never on words. Plain Kotlin (no Android types), so it is
 * unit-tested on the JVM against the real library and used unchanged by the Android app; the
 * iOS app mirrors it in Swift.
 */
class Outbox(
    private val zone: ZoneId = ZoneId.systemDefault(),
    language: Language = Language.of(),
    private val bulletinsChanged: () -> Unit = {},
) : EventListener {
    private val words = OutboxWords(language)
    private val progress = ConcurrentHashMap<String, Pair<ULong, ULong>>()
    private val live = ConcurrentHashMap<String, ReportState>()

    /** Called by the core during sync (any thread). */
    override fun onProgress(reportId: String, sent: ULong, total: ULong) {
        progress[reportId] = sent to total
    }

    override fun onStateChanged(reportId: String, state: ReportState, error: AttemptError?, detail: String?) {
        live[reportId] = state
        if (state != ReportState.UPLOADING) progress.remove(reportId)
    }

    /** A background refresh changed the missing-children list: the app reloads that screen. */
    override fun onBulletinsChanged(version: ULong, cases: UInt) = bulletinsChanged()

    /** The rows for `reports`, with live progress for those being sent. */
    fun rows(reports: List<OutboxReport>, now: Instant = Instant.now()): List<OutboxRow> =
        reports.map { r ->
            val state = live[r.id]?.takeIf { r.state == ReportState.UPLOADING || r.state == ReportState.SEALED } ?: r.state
            val sending = progress[r.id]?.takeIf { state == ReportState.UPLOADING }
            val percent = sending?.let { (sent, total) -> if (total == 0uL) 100 else (sent * 100uL / total).toInt() }
            OutboxRow(
                id = r.id,
                status = status(r, state, percent, now),
                percent = percent,
                needsAttention = r.problem != null || state == ReportState.REJECTED,
                waited = if (state == ReportState.SEALED || state == ReportState.UPLOADING) {
                    words.waited(Duration.between(r.createdAt, now).coerceAtLeast(Duration.ZERO))
                } else {
                    null
                },
            )
        }

    private fun status(r: OutboxReport, state: ReportState, percent: Int?, now: Instant): String {
        r.problem?.let { return words.problem(it) }
        return when (state) {
            ReportState.DRAFT -> words.draft
            ReportState.UPLOADING -> percent?.let(words::sending) ?: words.sendingStarted
            ReportState.SEALED -> r.lastError?.let { notSentYet(it, r.nextAttemptAt, now) } ?: words.waiting
            ReportState.DELIVERED -> words.delivered
            ReportState.UPLOADED_UNCONFIRMED -> words.unconfirmed
            ReportState.REJECTED -> words.rejected(r.rejectReason)
            ReportState.PURGED -> words.purged
        }
    }

    private fun notSentYet(error: AttemptError, nextAttemptAt: Instant?, now: Instant): String {
        val why = words.why(error)
        val next = nextAttemptAt?.takeIf { it.isAfter(now) } ?: return words.notSentYet(why)
        val at = DateTimeFormatter.ofPattern("HH:mm").withZone(zone).format(next)
        return words.notSentYet(why, at, maxOf(1, Duration.between(now, next).toMinutes()))
    }
}

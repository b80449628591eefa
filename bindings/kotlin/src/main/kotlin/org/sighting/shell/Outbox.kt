package org.sighting.shell

import java.time.Duration
import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.util.concurrent.ConcurrentHashMap
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
)

/**
 * The outbox as the shells show it: `reports()` rows with the sync engine's events laid over
 * them. Plain Kotlin (no Android types), so it is unit-tested on the JVM against the real
 * library and used unchanged by the Android app; the iOS app mirrors it in Swift.
 */
class Outbox(private val zone: ZoneId = ZoneId.systemDefault()) : EventListener {
    private val progress = ConcurrentHashMap<String, Pair<ULong, ULong>>()
    private val live = ConcurrentHashMap<String, ReportState>()

    /** Called by the core during sync (any thread). */
    override fun onProgress(reportId: String, sent: ULong, total: ULong) {
        progress[reportId] = sent to total
    }

    override fun onStateChanged(reportId: String, state: ReportState, detail: String?) {
        live[reportId] = state
        if (state != ReportState.UPLOADING) progress.remove(reportId)
    }

    /** The rows for `reports`, with live progress for those being sent. */
    fun rows(reports: List<OutboxReport>, now: Instant = Instant.now()): List<OutboxRow> =
        reports.map { r ->
            val sending = progress[r.id]
            val state = live[r.id]?.takeIf { r.state == ReportState.UPLOADING || r.state == ReportState.SEALED } ?: r.state
            OutboxRow(
                id = r.id,
                status = status(r, state, sending, now),
                percent = sending?.let { (sent, total) -> if (total == 0uL) 100 else (sent * 100uL / total).toInt() },
                needsAttention = r.problem != null || state == ReportState.REJECTED,
            )
        }

    private fun status(r: OutboxReport, state: ReportState, sending: Pair<ULong, ULong>?, now: Instant): String {
        r.problem?.let { return "Problem on this phone: $it. The report is kept." }
        return when (state) {
            ReportState.DRAFT -> "Draft: add a note and send"
            ReportState.SEALED, ReportState.UPLOADING -> when {
                sending != null -> "Sending… ${sending.first * 100uL / maxOf(sending.second, 1uL)}%"
                r.lastError != null -> notSentYet(r, now)
                state == ReportState.UPLOADING -> "Sending…"
                else -> "Waiting for a connection"
            }
            ReportState.DELIVERED -> "Delivered: the organisation confirmed it"
            ReportState.UPLOADED_UNCONFIRMED -> "Sent, but this server gives no confirmation"
            ReportState.REJECTED -> "Refused by the organisation: ${r.rejectReason ?: "no reason given"}"
            ReportState.PURGED -> "Delivered and removed from this phone"
        }
    }

    private fun notSentYet(r: OutboxReport, now: Instant): String {
        val why = when {
            r.lastError!!.startsWith("network: the intake server's certificate") -> "the server's certificate is not trusted"
            r.lastError!!.startsWith("network") -> "no connection to the organisation"
            r.lastError!!.contains("RECEIPT REFUSED") -> "the server's confirmation did not check out"
            else -> "the server asked to try later"
        }
        val next = r.nextAttemptAt?.takeIf { it.isAfter(now) }
        return if (next == null) {
            "Not sent yet: $why. It will be retried."
        } else {
            val wait = Duration.between(now, next)
            val at = DateTimeFormatter.ofPattern("HH:mm").withZone(zone).format(next)
            "Not sent yet: $why. Next try at $at (in ${maxOf(1, wait.toMinutes())} min)."
        }
    }
}

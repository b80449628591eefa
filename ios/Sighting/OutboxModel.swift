import Foundation
import SightingKit

/// The outbox rows and their words: the same rules as `org.sighting.shell.Outbox` (Kotlin,
/// unit-tested on the JVM); keep the two in step.
final class OutboxModel: EventListener, @unchecked Sendable {
    struct Row: Identifiable { let id: String; let status: String; let needsAttention: Bool }
    private let lock = NSLock()
    private var progress: [String: (UInt64, UInt64)] = [:]

    func onProgress(reportId: String, sent: UInt64, total: UInt64) throws {
        lock.withLock { progress[reportId] = (sent, total) }
    }

    func onStateChanged(reportId: String, state: ReportState, detail: String?) throws {
        if state != .uploading { lock.withLock { _ = progress.removeValue(forKey: reportId) } }
    }

    func rows(_ reports: [OutboxReport]) -> [Row] {
        reports.map { r in
            let sending = lock.withLock { progress[r.id] }
            return Row(id: r.id, status: status(r, sending), needsAttention: r.problem != nil || r.state == .rejected)
        }
    }

    private func status(_ r: OutboxReport, _ sending: (UInt64, UInt64)?) -> String {
        if let problem = r.problem { return "Problem on this phone: \(problem). The report is kept." }
        switch r.state {
        case .draft: return "Draft: add a note and send"
        case .sealed, .uploading:
            if let (sent, total) = sending { return "Sending… \(sent * 100 / max(total, 1))%" }
            if let error = r.lastError {
                let why = error.hasPrefix("network") ? "no connection to the organisation" : "the server asked to try later"
                return "Not sent yet: \(why). It will be retried."
            }
            return r.state == .uploading ? "Sending…" : "Waiting for a connection"
        case .delivered: return "Delivered: the organisation confirmed it"
        case .uploadedUnconfirmed: return "Sent, but this server gives no confirmation"
        case .rejected: return "Refused by the organisation: \(r.rejectReason ?? "no reason given")"
        case .purged: return "Delivered and removed from this phone"
        }
    }
}

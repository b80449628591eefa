import Foundation
import SightingKit

/// The reporter's language for every word the app shows: Simplified Chinese or English.
enum Language {
    case en, zh

    /// Chinese for any `zh` preferred language (the app ships Simplified Chinese), else English.
    static var current: Language {
        (Locale.preferredLanguages.first ?? "en").hasPrefix("zh") ? .zh : .en
    }

    func say(_ en: String, _ zh: String) -> String { self == .zh ? zh : en }
}

/// The outbox rows and their words: the same rules and words as `org.sighting.shell.Outbox`
/// (Kotlin, unit-tested on the JVM); keep the two in step. Rows switch on the typed
/// `AttemptError`, never on the words of an error.
final class OutboxModel: EventListener, @unchecked Sendable {
    struct Row: Identifiable { let id: String; let status: String; let percent: Int?; let needsAttention: Bool }
    private let lock = NSLock()
    private var progress: [String: (UInt64, UInt64)] = [:]
    private var live: [String: ReportState] = [:]
    private let language: Language

    private let bulletinsChanged: @Sendable () -> Void

    init(language: Language = .current, bulletinsChanged: @escaping @Sendable () -> Void = {}) {
        self.language = language
        self.bulletinsChanged = bulletinsChanged
    }

    func onProgress(reportId: String, sent: UInt64, total: UInt64) throws {
        lock.withLock { progress[reportId] = (sent, total) }
    }

    /// Every event carries the state the report's row has after it.
    func onStateChanged(reportId: String, state: ReportState, error: AttemptError?, detail: String?) throws {
        lock.withLock {
            live[reportId] = state
            if state != .uploading { progress.removeValue(forKey: reportId) }
        }
    }

    /// A background refresh changed the missing-children list: the app reloads that screen.
    func onBulletinsChanged(version: UInt64, cases: UInt32) throws { bulletinsChanged() }

    func rows(_ reports: [OutboxReport], now: Date = Date()) -> [Row] {
        reports.map { r in
            let (liveState, sending) = lock.withLock { (live[r.id], progress[r.id]) }
            let state = (r.state == .uploading || r.state == .sealed) ? (liveState ?? r.state) : r.state
            let percent = state == .uploading ? sending.map { sent, total in
                total == 0 ? 100 : Int(sent * 100 / total)
            } : nil
            return Row(id: r.id, status: status(r, state, percent, now), percent: percent,
                       needsAttention: r.problem != nil || state == .rejected)
        }
    }

    private func status(_ r: OutboxReport, _ state: ReportState, _ percent: Int?, _ now: Date) -> String {
        let say = language.say
        if let problem = r.problem {
            return say("Problem on this phone: \(problem). The report is kept.", "本机出现问题：\(problem)。报告已保留。")
        }
        switch state {
        case .draft: return say("Draft: add a note and send", "草稿：添加说明后发送")
        case .uploading:
            if let percent { return say("Sending… \(percent)%", "正在发送… \(percent)%") }
            return say("Sending…", "正在发送…")
        case .sealed:
            guard let error = r.lastError else { return say("Waiting for a connection", "等待网络连接") }
            return notSentYet(why(error), r.nextAttemptAt, now)
        case .delivered: return say("Delivered: the organisation confirmed it", "已送达：机构已确认收到")
        case .uploadedUnconfirmed: return say("Sent, but this server gives no confirmation", "已发送，但该服务器不提供确认")
        case .rejected:
            return say("Refused by the organisation: \(r.rejectReason ?? "no reason given")",
                       "被机构拒收：\(r.rejectReason ?? "未说明原因")")
        case .purged: return say("Delivered and removed from this phone", "已送达，并已从本机删除")
        }
    }

    private func why(_ error: AttemptError) -> String {
        let say = language.say
        switch error {
        case .network, .stalled: return say("no connection to the organisation", "无法连接到机构")
        case .tlsNotTrusted: return say("the server's certificate is not trusted", "服务器证书不受信任")
        case .serverFull: return say("the organisation's server is full for now", "机构服务器暂时已满")
        case .serverStatus: return say("the server asked to try later", "服务器要求稍后再试")
        case .serverProtocol: return say("the server answered wrongly", "服务器应答异常")
        case .receiptRefused: return say("the server's confirmation did not check out", "服务器的确认未通过验证")
        }
    }

    private func notSentYet(_ why: String, _ next: Date?, _ now: Date) -> String {
        guard let next, next > now else {
            return language.say("Not sent yet: \(why). It will be retried.", "尚未发送：\(why)。稍后将自动重试。")
        }
        let at = next.formatted(date: .omitted, time: .shortened)
        let minutes = max(1, Int(next.timeIntervalSince(now) / 60))
        return language.say("Not sent yet: \(why). Next try at \(at) (in \(minutes) min).",
                            "尚未发送：\(why)。将于 \(at) 重试（\(minutes) 分钟后）。")
    }
}

import SightingKit
import SwiftUI

struct OutboxView: View {
    @EnvironmentObject var model: AppModel
    @State private var rows: [OutboxModel.Row] = []

    var body: some View {
        List(rows) { row in
            Text(row.status).foregroundColor(row.needsAttention ? .red : .primary)
        }
        .task {
            while !Task.isCancelled {
                if let reports = try? await model.client().reports() { rows = model.outbox.rows(reports) }
                try? await Task.sleep(nanoseconds: 500_000_000)
            }
        }
        .refreshable {
            let settings = Settings.load()
            _ = try? await model.client().sync(budget: SyncBudget(maxWallMs: 60_000, maxBytes: nil, honourBackoff: false,
                                                                  allowMetered: !settings.wifiOnly, metered: false))
        }
    }
}

struct SettingsView: View {
    @EnvironmentObject var model: AppModel
    @State private var settings = Settings.load()
    @State private var wiped = false

    var body: some View {
        Form {
            TextField("Organisation's server", text: $settings.intakeUrl)
            Toggle("Send on Wi-Fi only", isOn: $settings.wifiOnly)
            Button("Save") { settings.save(); model.reopen() }
            // Panic wipe: keys first, then every draft and report.
            Button("Erase everything now", role: .destructive) {
                Task { try? await model.client().wipe(); wiped = true }
            }
            if wiped { Text("Everything on this phone was erased.") }
        }
    }
}

/// Plain words for the reporter, in both languages; the same as `org.sighting.shell.userMessage`
/// (Kotlin).
enum Messages {
    static func text(_ e: SightingError, _ language: Language = .current) -> String {
        let say = language.say
        switch e {
        case .InvalidPhoto: return say("This photo cannot be used. Please take it again.", "这张照片无法使用，请重新拍摄。")
        case .PhotoTooLarge:
            return say("This photo is too large. Please take it again with the app's camera.", "照片太大，请用本应用的相机重新拍摄。")
        case .InvalidLocation:
            return say("The phone's location looks wrong. The photo can be sent without it.", "手机的位置信息似乎有误。照片可以不带位置发送。")
        case .StorageFull:
            return say("The phone is full. Free some space; reports already waiting are kept.", "手机存储已满。请释放空间；等待发送的报告会保留。")
        case .KeyStore:
            return say("The phone's secure storage is not available. Restart the phone and try again.", "手机的安全存储不可用。请重启手机后再试。")
        case .Network: return say("The organisation's server is not set up correctly in Settings.", "设置中的机构服务器配置不正确。")
        case .Unreachable:
            return say("The organisation's server cannot be reached now. The app tries again later.", "现在无法连接到机构服务器。应用稍后会重试。")
        case .BulletinsRefused:
            return say("The list of missing children from the server did not check out and was not used. The list you had is kept.",
                       "服务器发来的失踪儿童名单未通过校验，未被采用。已保留原有名单。")
        case .CasePhotoRefused:
            return say("The case photo from the server did not match the published list and was not shown.",
                       "服务器发来的案件照片与发布的名单不符，未予显示。")
        case .Crypto: return say("Encryption failed. Nothing was sent. Please try again.", "加密失败，未发送任何内容。请重试。")
        case .InvalidInput(let reason): return say("That did not work: \(reason)", "操作未成功：\(reason)")
        case .Internal: return say("Something went wrong inside the app. Your reports are kept.", "应用内部出错。您的报告已保留。")
        }
    }
}

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

/// Plain words for the reporter; the same as `org.sighting.shell.userMessage` (Kotlin).
enum Messages {
    static func text(_ e: SightingError) -> String {
        switch e {
        case .InvalidPhoto: return "This photo cannot be used. Please take it again."
        case .PhotoTooLarge: return "This photo is too large. Please take it again with the app's camera."
        case .InvalidLocation: return "The phone's location looks wrong. The photo can be sent without it."
        case .StorageFull: return "The phone is full. Free some space; reports already waiting are kept."
        case .KeyStore: return "The phone's secure storage is not available. Restart the phone and try again."
        case .Network: return "The organisation's server is not set up correctly in Settings."
        case .Crypto: return "Encryption failed. Nothing was sent. Please try again."
        case .InvalidInput(let reason): return "That did not work: \(reason)"
        case .Internal: return "Something went wrong inside the app. Your reports are kept."
        }
    }
}

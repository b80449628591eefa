import BackgroundTasks
import SightingKit
import SwiftUI

/// The iOS shell: AVFoundation capture, a CoreLocation fix, BGTaskScheduler sync, a Secure
/// Enclave–backed Keychain key behind the core's `KeyStore`, and the same screens as Android.
/// Every word is in `Localizable.xcstrings` (English and Simplified Chinese) or composed in both
/// languages by the models. Everything else is the Rust core (SightingKit).
@main
struct SightingApp: App {
    @StateObject private var model = AppModel()

    init() {
        BackgroundSync.register()
    }

    var body: some Scene {
        WindowGroup {
            TabView(selection: $model.tab) {
                CaptureView().tabItem { Label("Capture", systemImage: "camera") }.tag(AppModel.Tab.capture)
                MissingChildrenView().tabItem { Label("Missing children", systemImage: "person.2") }.tag(AppModel.Tab.children)
                OutboxView().tabItem { Label("Outbox", systemImage: "tray.and.arrow.up") }.tag(AppModel.Tab.outbox)
                SettingsView().tabItem { Label("Settings", systemImage: "gear") }.tag(AppModel.Tab.settings)
            }
            .environmentObject(model)
            .onAppear { BackgroundSync.schedule() }
        }
    }
}

/// One `SightingClient` per process; opened off the main thread.
@MainActor
final class AppModel: ObservableObject {
    enum Tab { case capture, children, outbox, settings }

    @Published var tab: Tab = .capture
    /// Set by "I may have seen this child" on a case page: the next report names the case.
    @Published var linkedCase: String?
    let outbox = OutboxModel()
    private var opened: SightingClient?

    func client() async throws -> SightingClient {
        if let opened { return opened }
        let settings = Settings.load()
        let client = try await Task.detached {
            try SightingClient(config: settings.clientConfig(dataDir: Settings.dataDir().path),
                               keyStore: KeychainKeyStore())
        }.value
        client.setListener(listener: outbox)
        opened = client
        return client
    }

    func reopen() { opened = nil }
}

import BackgroundTasks
import SightingKit
import SwiftUI

/// The iOS shell: AVFoundation capture, a CoreLocation fix, BGTaskScheduler sync, a Secure
/// Enclave–backed Keychain key behind the core's `KeyStore`, and the same four screens as
/// Android. Everything else is the Rust core (SightingKit).
@main
struct SightingApp: App {
    @StateObject private var model = AppModel()

    init() {
        BackgroundSync.register()
    }

    var body: some Scene {
        WindowGroup {
            TabView {
                CaptureView().tabItem { Label("Capture", systemImage: "camera") }
                OutboxView().tabItem { Label("Outbox", systemImage: "tray.and.arrow.up") }
                SettingsView().tabItem { Label("Settings", systemImage: "gear") }
            }
            .environmentObject(model)
            .onAppear { BackgroundSync.schedule() }
        }
    }
}

/// One `SightingClient` per process; opened off the main thread.
@MainActor
final class AppModel: ObservableObject {
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

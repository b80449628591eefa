import Foundation
import SightingKit

/// The organisation's configuration (Organisation.plist, filled in by whoever builds the app)
/// and the reporter's choice (Wi-Fi only). Mirrors `org.sighting.shell.Settings` (Kotlin).
struct Settings {
    var intakeUrl: String
    var serverKey: String
    var recipients: [String]
    var pinnedCaPem: String?
    /// `bulletin.pub` from keygen: verifies the missing-children list.
    var bulletinKey: String?
    var wifiOnly: Bool

    static func load() -> Settings {
        let org = Bundle.main.url(forResource: "Organisation", withExtension: "plist")
            .flatMap { NSDictionary(contentsOf: $0) as? [String: Any] } ?? [:]
        let defaults = UserDefaults.standard
        return Settings(
            intakeUrl: defaults.string(forKey: "intake_url") ?? org["intake_url"] as? String ?? "",
            serverKey: org["server_key"] as? String ?? "",
            recipients: org["recipients"] as? [String] ?? [],
            pinnedCaPem: org["pinned_ca_pem"] as? String,
            bulletinKey: org["bulletin_key"] as? String,
            wifiOnly: defaults.bool(forKey: "wifi_only"))
    }

    func save() {
        UserDefaults.standard.set(intakeUrl, forKey: "intake_url")
        UserDefaults.standard.set(wifiOnly, forKey: "wifi_only")
    }

    /// Application Support/sighting, excluded from backups; the data protection class comes
    /// from the entitlement (complete until first user authentication).
    static func dataDir() -> URL {
        var url = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
            .appendingPathComponent("sighting", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try? url.setResourceValues(values)
        return url
    }

    func clientConfig(dataDir: String) -> ClientConfig {
        ClientConfig(dataDir: dataDir, recipients: recipients,
                     intakeUrl: intakeUrl.trimmingCharacters(in: .whitespaces), serverKey: serverKey,
                     pinnedCaPem: pinnedCaPem, quotaBytes: nil, uploadMaxEdge: nil, maxPhotoBytes: nil,
                     maxPhotoPixels: nil, chunkBytes: nil, bulletinKey: bulletinKey)
    }

    func backgroundBudget(seconds: UInt64, meteredNow: Bool) -> SyncBudget {
        SyncBudget(maxWallMs: seconds * 1000, maxBytes: nil, honourBackoff: true,
                   allowMetered: !wifiOnly, metered: meteredNow)
    }
}

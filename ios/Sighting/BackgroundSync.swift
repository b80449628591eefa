import BackgroundTasks
import Network
import SightingKit

/// BGProcessingTask (needs network, may run longer) and BGAppRefreshTask (~30 s) both run one
/// sync whose budget ends before the system's deadline (the core resumes cut uploads), then
/// refresh the missing-children list.
enum BackgroundSync {
    static let processing = "org.sighting.sync"
    static let refresh = "org.sighting.refresh"

    static func register() {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: processing, using: nil) { run($0, seconds: 120) }
        BGTaskScheduler.shared.register(forTaskWithIdentifier: refresh, using: nil) { run($0, seconds: 25) }
    }

    static func schedule() {
        let work = BGProcessingTaskRequest(identifier: processing)
        work.requiresNetworkConnectivity = true
        try? BGTaskScheduler.shared.submit(work)
        let refresh = BGAppRefreshTaskRequest(identifier: refresh)
        refresh.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
        try? BGTaskScheduler.shared.submit(refresh)
    }

    private static func run(_ task: BGTask, seconds: UInt64) {
        schedule()
        let job = Task { @MainActor in
            let model = AppModel()
            do {
                let client = try await model.client()
                task.expirationHandler = { client.cancelSync() }
                let metered = NWPathMonitor().currentPath.isExpensive
                _ = try await client.sync(budget: Settings.load().backgroundBudget(seconds: seconds, meteredNow: metered))
                // The missing-children list comes along, for the area asked for last time; a
                // failure keeps the list held.
                _ = try? await client.refreshBulletins(near: nil)
                task.setTaskCompleted(success: true)
            } catch {
                task.setTaskCompleted(success: false)
            }
        }
        _ = job
    }
}

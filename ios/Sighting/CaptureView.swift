import AVFoundation
import CoreLocation
import SightingKit
import SwiftUI

/// Capture: the camera writes a JPEG into the app's temporary directory (never the photo
/// library); the core takes it with a one-shot location fix, then the file is deleted.
struct CaptureView: View {
    @EnvironmentObject var model: AppModel
    @StateObject private var camera = Camera()
    @State private var draft: DraftSummary?
    @State private var note = ""
    @State private var sex: Sex?
    @State private var ageBand: AgeBand?
    @State private var injury: Bool?
    @State private var withAdults: WithAdults?
    @State private var activity: Activity?
    @State private var message: String?

    var body: some View {
        VStack {
            if let draft {
                Form {
                    Text(verbatim: String(format: String(localized: "Photo ready (%lld×%lld). Camera details were removed."),
                                          Int(draft.width), Int(draft.height)))
                    TextField("What did you see? (optional)", text: $note)
                    if let linked = model.linkedCase {
                        Text(verbatim: String(format: String(localized: "You think this may be case %@"), linked))
                        Button("Not this case") { model.linkedCase = nil }
                    }
                    Section("What you saw (optional)") {
                        Picker("The child", selection: $sex) {
                            Text("Not answered").tag(Sex?.none)
                            Text("Girl").tag(Sex?.some(.girl))
                            Text("Boy").tag(Sex?.some(.boy))
                            Text("Not sure").tag(Sex?.some(.unknown))
                        }
                        Picker("Age, roughly", selection: $ageBand) {
                            Text("Not answered").tag(AgeBand?.none)
                            Text("Under 5").tag(AgeBand?.some(.under5))
                            Text("5 to 9").tag(AgeBand?.some(.from5To9))
                            Text("10 to 13").tag(AgeBand?.some(.from10To13))
                            Text("14 to 17").tag(AgeBand?.some(.from14To17))
                        }
                        Picker("A visible injury or disability", selection: $injury) {
                            Text("Not answered").tag(Bool?.none)
                            Text("Yes").tag(Bool?.some(true))
                            Text("No").tag(Bool?.some(false))
                        }
                        Picker("With adults", selection: $withAdults) {
                            Text("Not answered").tag(WithAdults?.none)
                            Text("None").tag(WithAdults?.some(.none))
                            Text("One").tag(WithAdults?.some(.one))
                            Text("Several").tag(WithAdults?.some(.several))
                        }
                        Picker("Doing", selection: $activity) {
                            Text("Not answered").tag(Activity?.none)
                            Text("Begging").tag(Activity?.some(.begging))
                            Text("Selling").tag(Activity?.some(.selling))
                            Text("Performing").tag(Activity?.some(.performing))
                            Text("Something else").tag(Activity?.some(.other))
                        }
                    }
                    HStack {
                        Button("Send") { Task { await send(draft) } }
                        Button("Discard") { Task { try? await model.client().discard(draftId: draft.id); self.draft = nil } }
                    }
                }
            } else {
                CameraPreview(session: camera.session).ignoresSafeArea()
                Button("Take photo") { Task { await shoot() } }.padding()
            }
            if let message { Text(verbatim: message).foregroundColor(.red) }
        }
        .privacySensitive()
    }

    private func shoot() async {
        let shutter = Date()
        let location = OneShotLocation()
        location.request() // runs beside the shutter, never before it
        guard let file = await camera.takePhoto() else { message = String(localized: "The camera failed. Please try again."); return }
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            let clock = ShutterClock(wall: shutter, utcOffsetMinutes: Int32(TimeZone.current.secondsFromGMT(for: shutter) / 60),
                                     monotonic: MonotonicClock(msSinceBoot: Boot.msSinceBoot(), bootId: Boot.id()))
            let where_ = await location.reading(shutter: shutter)
            draft = try await model.client().capture(photo: .path(path: file.path), location: where_, clock: clock)
        } catch let e as SightingError {
            message = Messages.text(e)
        } catch {
            message = String(localized: "Something went wrong inside the app.")
        }
    }

    private func send(_ draft: DraftSummary) async {
        do {
            let seen = Observations(caseNumber: model.linkedCase, sex: sex, ageBand: ageBand, injuryOrDisability: injury,
                                    withAdults: withAdults, activity: activity)
            _ = try await model.client().submit(draftId: draft.id,
                                                details: ReportDetails(note: note.isEmpty ? nil : note, tags: [:], observations: seen))
            self.draft = nil
            note = ""
            (sex, ageBand, injury, withAdults, activity) = (nil, nil, nil, nil, nil)
            model.linkedCase = nil
            BackgroundSync.schedule()
        } catch let e as SightingError {
            message = Messages.text(e)
        } catch {
            message = String(localized: "Something went wrong inside the app.")
        }
    }
}

/// The boot's clocks: `CLOCK_MONOTONIC_RAW`-style uptime including sleep, and a per-boot id
/// (the kernel boot time), for the desk's clock correction.
enum Boot {
    static func msSinceBoot() -> UInt64 { clock_gettime_nsec_np(CLOCK_MONOTONIC) / 1_000_000 }

    static func id() -> String {
        var boottime = timeval()
        var size = MemoryLayout<timeval>.size
        sysctlbyname("kern.boottime", &boottime, &size, nil, 0)
        return "ios-boot-\(boottime.tv_sec)-\(boottime.tv_usec)"
    }
}

/// The same rules as `org.sighting.shell.captureLocation` (Kotlin).
final class OneShotLocation: NSObject, CLLocationManagerDelegate {
    private let manager = CLLocationManager()
    private var continuation: CheckedContinuation<CLLocation?, Never>?
    private var fix: CLLocation?

    func request() {
        manager.delegate = self
        manager.desiredAccuracy = kCLLocationAccuracyBest
        manager.requestWhenInUseAuthorization()
        manager.requestLocation()
    }

    func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        fix = locations.last
        continuation?.resume(returning: fix)
        continuation = nil
    }

    func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {
        continuation?.resume(returning: nil)
        continuation = nil
    }

    /// A fix for the missing-children list (the core asks only for the 5° cells around it).
    func here() async -> LocationFix? {
        request()
        if case .fix(let fix) = await reading(shutter: Date()) { return fix }
        return nil
    }

    /// The reasons match Android's: location turned off → `disabled` (asked first: with the
    /// services off the app's status reads as denied too); the reporter said no → `permissionDenied`;
    /// restricted for this phone (parental controls, device management), which the reporter
    /// cannot change → `noProvider`; nothing within `waitSeconds` or an error → `noFix`.
    func reading(shutter: Date, waitSeconds: Double = 2) async -> CaptureLocation {
        if !CLLocationManager.locationServicesEnabled() { return .missing(reason: .disabled) }
        switch manager.authorizationStatus {
        case .denied: return .missing(reason: .permissionDenied)
        case .restricted: return .missing(reason: .noProvider)
        default: break
        }
        let got: CLLocation? = await withCheckedContinuation { c in
            if let fix { c.resume(returning: fix); return }
            continuation = c
            DispatchQueue.main.asyncAfter(deadline: .now() + waitSeconds) { [weak self] in
                self?.continuation?.resume(returning: nil)
                self?.continuation = nil
            }
        }
        guard let l = got else { return .missing(reason: .noFix) }
        if shutter.timeIntervalSince(l.timestamp) > 120 { return .missing(reason: .stale) }
        return .fix(fix: LocationFix(lat: l.coordinate.latitude, lon: l.coordinate.longitude,
                                     accuracyM: l.horizontalAccuracy,
                                     altitudeM: l.verticalAccuracy >= 0 ? l.altitude : nil,
                                     headingDeg: l.course >= 0 ? l.course : nil,
                                     fixTime: l.timestamp, provider: "corelocation"))
    }
}

final class Camera: NSObject, ObservableObject, AVCapturePhotoCaptureDelegate {
    let session = AVCaptureSession()
    private let output = AVCapturePhotoOutput()
    private var done: CheckedContinuation<URL?, Never>?

    override init() {
        super.init()
        guard let device = AVCaptureDevice.default(for: .video),
              let input = try? AVCaptureDeviceInput(device: device) else { return }
        session.addInput(input)
        session.addOutput(output)
        DispatchQueue.global(qos: .userInitiated).async { self.session.startRunning() }
    }

    func takePhoto() async -> URL? {
        await withCheckedContinuation { c in
            done = c
            output.capturePhoto(with: AVCapturePhotoSettings(format: [AVVideoCodecKey: AVVideoCodecType.jpeg]), delegate: self)
        }
    }

    func photoOutput(_ output: AVCapturePhotoOutput, didFinishProcessingPhoto photo: AVCapturePhoto, error: Error?) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString + ".jpg")
        let ok = photo.fileDataRepresentation().map { (try? $0.write(to: file, options: .completeFileProtection)) != nil } ?? false
        done?.resume(returning: ok ? file : nil)
        done = nil
    }
}

struct CameraPreview: UIViewRepresentable {
    let session: AVCaptureSession
    func makeUIView(context: Context) -> UIView {
        let view = UIView()
        let layer = AVCaptureVideoPreviewLayer(session: session)
        layer.videoGravity = .resizeAspectFill
        view.layer.addSublayer(layer)
        DispatchQueue.main.async { layer.frame = view.bounds }
        return view
    }
    func updateUIView(_ view: UIView, context: Context) {}
}

// swift-tools-version:5.9
// SightingKit: the generated Swift bindings (SightingFFI.swift) over the Rust core, shipped as
// an XCFramework. `ios/build-xcframework.sh` builds both into this folder; neither is committed.
import PackageDescription

let package = Package(
    name: "SightingKit",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "SightingKit", targets: ["SightingKit"]),
    ],
    targets: [
        // The static library for device and simulator slices, with the C header and module map
        // UniFFI generates (module SightingFFIFFI).
        .binaryTarget(name: "SightingFFIFFI", path: "SightingFFIFFI.xcframework"),
        // SightingFFI.swift, copied into Sources/SightingKit by the build script.
        .target(name: "SightingKit", dependencies: ["SightingFFIFFI"], path: "Sources/SightingKit"),
    ]
)

#!/usr/bin/env bash
# Builds SightingKit's XCFramework and Swift sources. Needs macOS with Xcode and rustup; it
# cannot run on Linux (no Apple SDKs), so CI does not run it.
#
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
#   ios/build-xcframework.sh
#
# Then add ios/SightingKit as a local Swift package in Xcode (XcodeGen: see ios/project.yml).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KIT=ios/SightingKit
OUT=target/ios

for target in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  # The size-optimised profile the phones ship (Cargo.toml, [profile.mobile]).
  cargo build --profile mobile -p sighting-ffi --target "$target"
done

# The Swift bindings and C header come from the library itself (library mode), as for Kotlin.
cargo build --release -p uniffi-bindgen
rm -rf "$OUT" && mkdir -p "$OUT/headers"
target/release/uniffi-bindgen generate --library target/aarch64-apple-ios/mobile/libsighting_ffi.a \
  --language swift --out-dir "$OUT/swift"
cp "$OUT/swift/SightingFFIFFI.h" "$OUT/headers/"
# Xcode looks for module.modulemap inside an XCFramework's Headers.
cp "$OUT/swift/SightingFFIFFI.modulemap" "$OUT/headers/module.modulemap"

# One fat simulator library (Apple silicon + Intel simulators).
mkdir -p "$OUT/sim"
lipo -create target/aarch64-apple-ios-sim/mobile/libsighting_ffi.a \
  target/x86_64-apple-ios/mobile/libsighting_ffi.a -output "$OUT/sim/libsighting_ffi.a"

rm -rf "$KIT/SightingFFIFFI.xcframework"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/mobile/libsighting_ffi.a -headers "$OUT/headers" \
  -library "$OUT/sim/libsighting_ffi.a" -headers "$OUT/headers" \
  -output "$KIT/SightingFFIFFI.xcframework"
cp "$OUT/swift/SightingFFI.swift" "$KIT/Sources/SightingKit/"
echo "SightingKit ready in $ROOT/$KIT"

// The Android shell: camera, location, background scheduling, keystore and screens. Everything
// else is the Rust core (libsighting_ffi.so, built by cargo-ndk below) behind the generated
// Kotlin bindings (../../target/bindings/kotlin, made by `cargo xtask bindings --release`).
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

val workspace = rootDir.parentFile

android {
    namespace = "org.sighting.app"
    compileSdk = 35
    defaultConfig {
        applicationId = "org.sighting.app"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }
    buildFeatures { compose = true }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    sourceSets["main"].apply {
        // The generated bindings, and the shell logic shared with the JVM tests
        // (bindings/kotlin/src/main/kotlin: outbox rows, settings → config, location mapping).
        java.srcDirs(
            "src/main/java",
            "$workspace/target/bindings/kotlin",
            "$workspace/bindings/kotlin/src/main/kotlin",
        )
        jniLibs.srcDirs(layout.buildDirectory.dir("rustJniLibs"))
    }
}

// cargo-ndk: `cargo install cargo-ndk`, `rustup target add aarch64-linux-android
// armv7-linux-androideabi x86_64-linux-android`, ANDROID_NDK_HOME set.
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = workspace
    commandLine(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "-o", layout.buildDirectory.dir("rustJniLibs").get().asFile.path,
        "build", "--profile", "mobile", "-p", "sighting-ffi",
    )
}
val bindings by tasks.registering(Exec::class) {
    workingDir = workspace
    commandLine("cargo", "xtask", "bindings", "--release")
}
tasks.named("preBuild") { dependsOn(cargoNdk, bindings) }

dependencies {
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    implementation("androidx.activity:activity-compose:1.9.3")
    implementation(platform("androidx.compose:compose-bom:2024.12.01"))
    implementation("androidx.compose.material3:material3")
    implementation("androidx.camera:camera-camera2:1.4.1")
    implementation("androidx.camera:camera-lifecycle:1.4.1")
    implementation("androidx.camera:camera-view:1.4.1")
    // Location from the platform's LocationManager: no Google Play services (phones sold in
    // mainland China have none).
    implementation("androidx.core:core-ktx:1.13.1")
    implementation("androidx.work:work-runtime-ktx:2.10.0")
}

package org.sighting.shell

import java.time.Duration
import java.time.Instant
import org.sighting.CaptureLocation
import org.sighting.LocationFix
import org.sighting.LocationMissingReason

/** What the platform's location service gave at shutter time, in platform-neutral terms. */
data class LocationReading(
    val permissionGranted: Boolean,
    val locationEnabled: Boolean,
    /** False when the phone has no location service to ask (no GPS, network or fused provider). */
    val providerAvailable: Boolean,
    /** Null when no fix arrived in time (the shutter never waits for one). */
    val fix: Fix?,
) {
    data class Fix(
        val lat: Double,
        val lon: Double,
        val accuracyM: Double,
        val altitudeM: Double?,
        val headingDeg: Double?,
        val time: Instant,
        val provider: String,
    )
}

/** A fix older than this at the shutter is not where the photo was taken. */
val MAX_FIX_AGE: Duration = Duration.ofMinutes(2)

/** The core's `CaptureLocation`: the fix, or the honest reason there is none. */
fun captureLocation(reading: LocationReading, shutter: Instant): CaptureLocation {
    val fix = reading.fix
    return when {
        !reading.permissionGranted -> CaptureLocation.Missing(LocationMissingReason.PERMISSION_DENIED)
        !reading.locationEnabled -> CaptureLocation.Missing(LocationMissingReason.DISABLED)
        !reading.providerAvailable -> CaptureLocation.Missing(LocationMissingReason.NO_PROVIDER)
        fix == null -> CaptureLocation.Missing(LocationMissingReason.NO_FIX)
        Duration.between(fix.time, shutter) > MAX_FIX_AGE -> CaptureLocation.Missing(LocationMissingReason.STALE)
        else -> CaptureLocation.Fix(
            LocationFix(
                lat = fix.lat,
                lon = fix.lon,
                accuracyM = fix.accuracyM,
                altitudeM = fix.altitudeM,
                headingDeg = fix.headingDeg,
                fixTime = fix.time,
                provider = fix.provider,
            ),
        )
    }
}

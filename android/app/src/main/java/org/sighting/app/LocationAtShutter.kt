package org.sighting.app

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.location.LocationManager
import com.google.android.gms.location.LocationServices
import com.google.android.gms.location.Priority
import com.google.android.gms.tasks.CancellationTokenSource
import java.time.Instant
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.withTimeoutOrNull
import org.sighting.shell.LocationReading

/**
 * A fresh fused fix requested at the shutter. The photo is taken at once; this runs beside it
 * and gets at most `waitMs` after the photo is saved. No fix in time → `fix = null` (no_fix).
 */
class LocationAtShutter(private val context: Context) {
    private val fused = LocationServices.getFusedLocationProviderClient(context)
    private var pending: CompletableDeferred<LocationReading.Fix?>? = null

    private fun granted() = context.checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) ==
        PackageManager.PERMISSION_GRANTED

    private fun enabled() = context.getSystemService(LocationManager::class.java).isLocationEnabled

    /** Call when the shutter is pressed. */
    @SuppressLint("MissingPermission")
    fun request() {
        val result = CompletableDeferred<LocationReading.Fix?>()
        pending = result
        if (!granted() || !enabled()) {
            result.complete(null)
            return
        }
        fused.getCurrentLocation(Priority.PRIORITY_HIGH_ACCURACY, CancellationTokenSource().token)
            .addOnSuccessListener { l ->
                result.complete(
                    l?.let {
                        LocationReading.Fix(
                            lat = it.latitude,
                            lon = it.longitude,
                            accuracyM = it.accuracy.toDouble(),
                            altitudeM = if (it.hasAltitude()) it.altitude else null,
                            headingDeg = if (it.hasBearing()) it.bearing.toDouble() else null,
                            time = Instant.ofEpochMilli(it.time),
                            provider = it.provider ?: "fused",
                        )
                    },
                )
            }
            .addOnFailureListener { result.complete(null) }
    }

    /** After the photo is saved: what arrived (or not) within `waitMs`. */
    suspend fun reading(waitMs: Long = 2000): LocationReading = LocationReading(
        permissionGranted = granted(),
        locationEnabled = enabled(),
        fix = pending?.let { withTimeoutOrNull(waitMs) { it.await() } },
    )
}

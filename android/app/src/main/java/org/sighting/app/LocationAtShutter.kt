package org.sighting.app

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationManager
import android.os.Build
import android.os.CancellationSignal
import androidx.core.content.ContextCompat
import androidx.core.location.LocationManagerCompat
import java.time.Instant
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.withTimeoutOrNull
import org.sighting.shell.LocationReading

/**
 * A fresh fix requested at the shutter from the platform's own `LocationManager`: no Google Play
 * services, so it works on the phones sold in mainland China without them, where the network
 * provider is backed by the maker's location service. Every provider the phone has (fused where
 * the platform has one, GPS, network) is asked at once; the first fix to arrive is kept, with
 * the provider's name, its time and its accuracy. Positions stay WGS-84, as the platform gives
 * them. The photo is taken at once; this runs beside it and gets at most `waitMs` after the
 * photo is saved.
 */
class LocationAtShutter(private val context: Context) {
    private val manager: LocationManager? = context.getSystemService(LocationManager::class.java)
    private var pending: CompletableDeferred<LocationReading.Fix?>? = null
    private var cancel: CancellationSignal? = null

    private fun granted() = context.checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) ==
        PackageManager.PERMISSION_GRANTED ||
        context.checkSelfPermission(Manifest.permission.ACCESS_COARSE_LOCATION) == PackageManager.PERMISSION_GRANTED

    private fun enabled() = manager?.let(LocationManagerCompat::isLocationEnabled) ?: false

    /** The providers this phone has, best first; none → "no location service on this phone". */
    private fun providers(): List<String> {
        val present = manager?.allProviders.orEmpty()
        val wanted = buildList {
            if (Build.VERSION.SDK_INT >= 31) add(LocationManager.FUSED_PROVIDER)
            add(LocationManager.GPS_PROVIDER)
            add(LocationManager.NETWORK_PROVIDER)
        }
        return wanted.filter { it in present }
    }

    /** Call when the shutter is pressed. */
    @SuppressLint("MissingPermission")
    fun request() {
        cancel?.cancel()
        val result = CompletableDeferred<LocationReading.Fix?>()
        pending = result
        val asking = if (granted() && enabled()) providers().filter { manager!!.isProviderEnabled(it) } else emptyList()
        if (asking.isEmpty()) {
            result.complete(null)
            return
        }
        val signal = CancellationSignal().also { cancel = it }
        var unanswered = asking.size
        for (provider in asking) {
            LocationManagerCompat.getCurrentLocation(manager!!, provider, signal, ContextCompat.getMainExecutor(context)) { l ->
                // First fix wins; "no fix" only once every provider has said so.
                if (l != null) {
                    result.complete(fix(l, provider))
                    signal.cancel()
                } else if (--unanswered == 0) {
                    result.complete(null)
                }
            }
        }
    }

    /** After the photo is saved: what arrived (or not) within `waitMs`. */
    suspend fun reading(waitMs: Long = 2000): LocationReading {
        val fix = pending?.let { withTimeoutOrNull(waitMs) { it.await() } }
        cancel?.cancel()
        return LocationReading(
            permissionGranted = granted(),
            locationEnabled = enabled(),
            providerAvailable = providers().isNotEmpty(),
            fix = fix,
        )
    }

    private fun fix(l: Location, asked: String) = LocationReading.Fix(
        lat = l.latitude,
        lon = l.longitude,
        accuracyM = l.accuracy.toDouble(),
        altitudeM = if (l.hasAltitude()) l.altitude else null,
        headingDeg = if (l.hasBearing()) l.bearing.toDouble() else null,
        time = Instant.ofEpochMilli(l.time),
        provider = l.provider?.takeIf { it.isNotEmpty() } ?: asked,
    )
}

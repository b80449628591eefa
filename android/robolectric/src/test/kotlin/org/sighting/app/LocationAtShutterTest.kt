package org.sighting.app

import android.Manifest
import android.app.Application
import android.content.Context
import android.location.Location
import android.location.LocationManager
import android.os.Looper
import org.robolectric.RuntimeEnvironment
import java.time.Instant
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.sighting.CaptureLocation
import org.sighting.LocationMissingReason
import org.sighting.shell.captureLocation

/** The shutter's fix from the platform's LocationManager (no Google Play services). */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = Application::class)
class LocationAtShutterTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val manager = context.getSystemService(LocationManager::class.java)!!

    @Before
    fun phoneWithLocationOn() {
        shadowOf(context as Application).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION)
        shadowOf(manager).setLocationEnabled(true)
    }

    private fun at(provider: String, lat: Double, lon: Double, accuracy: Float) = Location(provider).apply {
        latitude = lat
        longitude = lon
        this.accuracy = accuracy
        time = System.currentTimeMillis() - 3_000
        elapsedRealtimeNanos = android.os.SystemClock.elapsedRealtimeNanos()
    }

    /** Shutter pressed, `deliver` plays the platform's part, then the reading after the photo. */
    private fun shutter(waitMs: Long = 2000, deliver: () -> Unit = {}): CaptureLocation {
        val location = LocationAtShutter(context)
        val pressed = Instant.now()
        location.request()
        deliver()
        shadowOf(Looper.getMainLooper()).idle()
        return captureLocation(runBlocking { location.reading(waitMs) }, pressed)
    }

    private fun reason(c: CaptureLocation) = (c as CaptureLocation.Missing).reason

    @Test
    fun aGpsFixIsKeptWithItsProviderAccuracyAndTime() {
        shadowOf(manager).setProviderEnabled(LocationManager.NETWORK_PROVIDER, false)
        val gps = at(LocationManager.GPS_PROVIDER, 39.9042, 116.4074, 6f)
        val fix = (shutter { shadowOf(manager).simulateLocation(gps) } as CaptureLocation.Fix).fix
        assertEquals(39.9042, fix.lat, 0.0)
        assertEquals(116.4074, fix.lon, 0.0) // WGS-84 as the platform gave it: no GCJ-02 shift
        assertEquals(6.0, fix.accuracyM, 0.0)
        assertEquals("gps", fix.provider)
        assertEquals(gps.time, fix.fixTime.toEpochMilli())
    }

    @Test
    fun aNetworkFixServesWhereGpsIsOff() {
        shadowOf(manager).setProviderEnabled(LocationManager.GPS_PROVIDER, false)
        shadowOf(manager).setProviderEnabled(LocationManager.NETWORK_PROVIDER, true)
        val cell = at(LocationManager.NETWORK_PROVIDER, 31.2304, 121.4737, 45f)
        val fix = (shutter { shadowOf(manager).simulateLocation(cell) } as CaptureLocation.Fix).fix
        assertEquals("network", fix.provider)
        assertEquals(45.0, fix.accuracyM, 0.0)
    }

    @Test
    fun aPhoneWithoutAnyLocationProviderSaysSo() {
        for (p in manager.allProviders) shadowOf(manager).removeProvider(p)
        assertEquals(LocationMissingReason.NO_PROVIDER, reason(shutter()))
    }

    @Test
    fun aRefusedPermissionIsNotANoFix() {
        shadowOf(context as Application).denyPermissions(
            Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION,
        )
        assertEquals(LocationMissingReason.PERMISSION_DENIED, reason(shutter()))
    }

    @Test
    fun locationTurnedOffIsDisabled() {
        shadowOf(manager).setLocationEnabled(false)
        assertEquals(LocationMissingReason.DISABLED, reason(shutter()))
    }

    @Test
    fun noAnswerInTimeIsNoFix() {
        // Providers on, nothing delivered: the reading gives up after its wait.
        assertEquals(LocationMissingReason.NO_FIX, reason(shutter(waitMs = 50)))
    }
}

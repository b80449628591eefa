package org.sighting.app

import android.app.Application
import android.content.ComponentName
import android.content.Context
import android.provider.Settings
import org.robolectric.RuntimeEnvironment
import java.time.Duration
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.sighting.shell.LONG_WAIT

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = Application::class)
class BackgroundLimitsTest {
    private val context: Context = RuntimeEnvironment.getApplication()

    @Test
    fun theMakersThatStopBackgroundWorkAreKnownByTheirBrands() {
        assertEquals(BackgroundLimits.XIAOMI, BackgroundLimits.of("Redmi"))
        assertEquals(BackgroundLimits.HUAWEI, BackgroundLimits.of("HONOR"))
        assertEquals(BackgroundLimits.OPPO, BackgroundLimits.of("OnePlus"))
        assertEquals(BackgroundLimits.OPPO, BackgroundLimits.of("realme"))
        assertEquals(BackgroundLimits.VIVO, BackgroundLimits.of("vivo"))
        assertNull(BackgroundLimits.of("Google"))
    }

    @Test
    fun adviceOnlyOnceAReportWaitedTooLongOnSuchAPhone() {
        assertNull(BackgroundLimits.advice(LONG_WAIT.minusMinutes(1), "Xiaomi"))
        assertNull(BackgroundLimits.advice(null, "Xiaomi"))
        assertNull(BackgroundLimits.advice(LONG_WAIT.plusHours(1), "samsung"))
        assertEquals(BackgroundLimits.XIAOMI, BackgroundLimits.advice(LONG_WAIT.plus(Duration.ofMinutes(1)), "Xiaomi"))
    }

    @Test
    fun theMakersScreenWhenItExistsElseTheAppsSettingsPage() {
        val miui = ComponentName("com.miui.securitycenter", "com.miui.permcenter.autostart.AutoStartManagementActivity")
        val fallback = BackgroundLimits.XIAOMI.settingsIntent(context)
        assertEquals(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, fallback.action)
        assertEquals("package:${context.packageName}", fallback.data?.toString())
        shadowOf(context.packageManager).addActivityIfNotPresent(miui)
        shadowOf(context.packageManager).addIntentFilterForActivity(
            miui, android.content.IntentFilter(),
        )
        assertEquals(miui, BackgroundLimits.XIAOMI.settingsIntent(context).component)
    }
}

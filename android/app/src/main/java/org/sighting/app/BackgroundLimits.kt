package org.sighting.app

import android.content.ComponentName
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import android.provider.Settings as AndroidSettings
import androidx.annotation.StringRes
import java.time.Duration
import org.sighting.shell.LONG_WAIT

/**
 * Phones whose maker's ROM stops apps' background work unless the reporter allows it (autostart,
 * no battery restriction): there WorkManager alone may never send a queued report. When reports
 * have waited past [LONG_WAIT] on such a phone, the outbox explains what to allow and opens the
 * maker's screen for it, or the app's own settings page where that screen does not exist.
 */
enum class BackgroundLimits(@param:StringRes val steps: Int, private val screens: List<ComponentName>) {
    XIAOMI(
        R.string.background_steps_xiaomi,
        listOf(
            ComponentName("com.miui.securitycenter", "com.miui.permcenter.autostart.AutoStartManagementActivity"),
            ComponentName("com.miui.powerkeeper", "com.miui.powerkeeper.ui.HiddenAppsConfigActivity"),
        ),
    ),
    HUAWEI(
        R.string.background_steps_huawei,
        listOf(
            ComponentName("com.huawei.systemmanager", "com.huawei.systemmanager.startupmgr.ui.StartupNormalAppListActivity"),
            ComponentName("com.huawei.systemmanager", "com.huawei.systemmanager.optimize.process.ProtectActivity"),
        ),
    ),
    OPPO(
        R.string.background_steps_oppo,
        listOf(
            ComponentName("com.coloros.safecenter", "com.coloros.safecenter.permission.startup.StartupAppListActivity"),
            ComponentName("com.coloros.safecenter", "com.coloros.safecenter.startupapp.StartupAppListActivity"),
            ComponentName("com.oppo.safe", "com.oppo.safe.permission.startup.StartupAppListActivity"),
        ),
    ),
    VIVO(
        R.string.background_steps_vivo,
        listOf(
            ComponentName("com.vivo.permissionmanager", "com.vivo.permissionmanager.activity.BgStartUpManagerActivity"),
            ComponentName("com.iqoo.secure", "com.iqoo.secure.ui.phoneoptimize.BgStartUpManager"),
        ),
    ),
    ;

    /** The maker's screen that resolves on this phone, else the app's own settings page. */
    fun settingsIntent(context: Context): Intent {
        val pm = context.packageManager
        return screens.map { Intent().setComponent(it).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK) }
            .firstOrNull { pm.resolveActivity(it, PackageManager.MATCH_DEFAULT_ONLY) != null }
            ?: Intent(AndroidSettings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", context.packageName, null))
                .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK)
    }

    companion object {
        /** The ROM family from `Build.MANUFACTURER` (sub-brands share their maker's ROM). */
        fun of(manufacturer: String = Build.MANUFACTURER): BackgroundLimits? = when (manufacturer.lowercase()) {
            "xiaomi", "redmi", "poco" -> XIAOMI
            "huawei", "honor" -> HUAWEI
            "oppo", "oneplus", "realme" -> OPPO
            "vivo", "iqoo" -> VIVO
            else -> null
        }

        /** The advice to show, or null: only on such a phone, once a report waited too long. */
        fun advice(oldestWait: Duration?, manufacturer: String = Build.MANUFACTURER): BackgroundLimits? =
            of(manufacturer)?.takeIf { oldestWait != null && oldestWait > LONG_WAIT }
    }
}

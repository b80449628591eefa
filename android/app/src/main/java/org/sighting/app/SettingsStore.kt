package org.sighting.app

import android.content.Context
import org.sighting.shell.Settings

/**
 * The organisation's configuration (shipped in the app's resources by the organisation that
 * builds it) and the reporter's choices (Wi-Fi only), in private preferences.
 */
class SettingsStore(private val context: Context) {
    private val prefs = context.getSharedPreferences("settings", Context.MODE_PRIVATE)

    fun load(): Settings = Settings(
        intakeUrl = prefs.getString("intake_url", null) ?: context.getString(R.string.intake_url),
        serverKey = context.getString(R.string.server_key),
        bulletinKey = context.getString(R.string.bulletin_key),
        recipients = context.resources.getStringArray(R.array.recipients).toList(),
        pinnedCaPem = context.resources.openRawResource(R.raw.pinned_ca).bufferedReader().readText().ifBlank { null },
        wifiOnly = prefs.getBoolean("wifi_only", false),
    )

    fun save(intakeUrl: String, wifiOnly: Boolean) {
        prefs.edit().putString("intake_url", intakeUrl).putBoolean("wifi_only", wifiOnly).apply()
    }
}

package org.sighting.shell

import org.sighting.ClientConfig
import org.sighting.SyncBudget

/**
 * What the organisation configures (intake server, its receipt key, its age recipients, its
 * bulletin key for the missing-children list, an optional pinned CA) and what the reporter chooses (Wi-Fi only), turned into the core's
 * configuration. Plain Kotlin: the Android app stores it in its preferences; iOS mirrors it.
 */
data class Settings(
    val intakeUrl: String,
    val serverKey: String,
    val recipients: List<String>,
    val pinnedCaPem: String? = null,
    val bulletinKey: String? = null,
    val wifiOnly: Boolean = false,
) {
    fun clientConfig(dataDir: String): ClientConfig = ClientConfig(
        dataDir = dataDir,
        recipients = recipients,
        intakeUrl = intakeUrl.trim().trimEnd('/'),
        serverKey = serverKey.trim(),
        pinnedCaPem = pinnedCaPem,
        quotaBytes = null,
        uploadMaxEdge = null,
        maxPhotoBytes = null,
        maxPhotoPixels = null,
        chunkBytes = null,
        bulletinKey = bulletinKey?.trim()?.ifEmpty { null },
    )

    /**
     * A background run: inside the OS's limit (WorkManager gives ~10 min, iOS BGTasks ~30 s;
     * we take less), retry times honoured, mobile data only if the reporter allows it.
     */
    fun backgroundBudget(seconds: Long, meteredNow: Boolean): SyncBudget = SyncBudget(
        maxWallMs = (seconds * 1000).toULong(),
        maxBytes = null,
        honourBackoff = true,
        allowMetered = !wifiOnly,
        metered = meteredNow,
    )

    /** "Send now" from the outbox: every waiting report, whatever its retry time. */
    fun sendNowBudget(meteredNow: Boolean): SyncBudget =
        backgroundBudget(60, meteredNow).copy(honourBackoff = false)
}

package org.sighting.app

import android.app.Application
import android.content.Context
import java.io.File
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import org.sighting.KeyStore
import org.sighting.SightingClient
import org.sighting.shell.Outbox
import org.sighting.shell.Settings

/** One `SightingClient` per process, opened lazily off the main thread. */
open class SightingApp : Application() {
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
    val outbox = Outbox()

    @Volatile private var opened: SightingClient? = null

    /** Opens the client (disk I/O and a keystore unwrap): call from a background dispatcher. */
    @Synchronized
    fun client(): SightingClient = opened ?: SightingClient(
        settings().clientConfig(File(noBackupFilesDir, "sighting").path),
        keyStore(),
    ).also { client ->
        client.setListener(outbox)
        opened = client
    }

    /** Open for the JVM tests, which point the app at a loopback intake with its keys. */
    open fun settings(): Settings = SettingsStore(this).load()

    /** Open for the JVM tests, which have no Android Keystore (they give a software key). */
    open fun keyStore(): KeyStore = AndroidKeyStore()

    /** After a settings change: the next `client()` opens with the new configuration. */
    @Synchronized
    fun reopen() {
        opened?.close()
        opened = null
    }
}

val Context.sighting: SightingApp get() = applicationContext as SightingApp

package org.sighting.app

import javax.crypto.KeyGenerator
import org.sighting.KeyStore
import org.sighting.shell.Settings

/**
 * The app as Robolectric starts it, with the organisation's values of the test's loopback
 * intake instead of those the organisation builds into the resources, and the keystore adapter
 * on a software key (Robolectric has no Android Keystore; see AndroidKeyStoreTest).
 */
class TestApp : SightingApp() {
    var organisation: Settings? = null
    private val softwareKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

    override fun settings(): Settings = organisation ?: super.settings()

    override fun keyStore(): KeyStore = AndroidKeyStore { softwareKey }
}

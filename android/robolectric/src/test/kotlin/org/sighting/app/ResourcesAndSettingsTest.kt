package org.sighting.app

import android.content.Context
import android.content.res.Configuration
import org.robolectric.RuntimeEnvironment
import java.io.File
import java.util.Locale
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/** The app's real resources (linked by aapt2) as the phone resolves them, and its settings. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = TestApp::class)
class ResourcesAndSettingsTest {
    private val app: Context = RuntimeEnvironment.getApplication()

    private fun inLanguage(tag: String): Context =
        app.createConfigurationContext(Configuration(app.resources.configuration).apply { setLocale(Locale.forLanguageTag(tag)) })

    /** The keys of res/values/strings.xml: every one is a word the reporter reads. */
    private fun wordKeys(): List<String> {
        val xml = File(System.getProperty("user.dir"), "../app/src/main/res/values/strings.xml").readText()
        return Regex("<string name=\"([a-z0-9_]+)\"").findAll(xml).map { it.groupValues[1] }.toList()
    }

    @Test
    fun everyWordResolvesInChineseAndEnglish() {
        val en = inLanguage("en")
        val zh = inLanguage("zh-CN")
        val keys = wordKeys()
        assertTrue(keys.size > 40)
        val missing = keys.filter { key ->
            val id = app.resources.getIdentifier(key, "string", app.packageName)
            assertNotEquals("R has no $key", 0, id)
            // A key missing from values-zh-rCN falls back to the English word.
            en.getString(id) == zh.getString(id)
        }
        assertEquals(emptyList<String>(), missing)
        assertEquals("有报告已等待超过 6 小时。", zh.getString(R.string.background_advice, 6).substringBefore("这部"))
        assertTrue(en.getString(R.string.background_advice, 6).startsWith("Reports have waited more than 6 hours."))
    }

    @Test
    fun settingsComeFromTheOrganisationsResourcesAndTheReportersChoices() {
        val store = SettingsStore(app)
        val shipped = store.load()
        assertEquals(app.getString(R.string.intake_url), shipped.intakeUrl)
        assertEquals(listOf("REPLACE_WITH_AGE_RECIPIENT"), shipped.recipients)
        assertEquals(false, shipped.wifiOnly)
        assertEquals(null, shipped.pinnedCaPem) // the empty pinned_ca.pem: the bundled roots
        store.save("https://intake.example.net/", wifiOnly = true)
        val chosen = SettingsStore(app).load()
        assertEquals("https://intake.example.net/", chosen.intakeUrl)
        assertEquals(true, chosen.wifiOnly)
        assertEquals("https://intake.example.net", chosen.clientConfig("/data").intakeUrl)
        assertEquals(false, chosen.backgroundBudget(25, meteredNow = true).allowMetered)
    }
}

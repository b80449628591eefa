package org.sighting.shell

import java.time.Instant
import java.time.ZoneId
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.sighting.BulletinList
import org.sighting.BulletinStatus
import org.sighting.MissingChild
import org.sighting.SafetyLine
import org.sighting.Sex

/** The missing-children list's words and rules, in both languages. */
class MissingChildrenTest {
    private val shanghai = ZoneId.of("Asia/Shanghai")
    private val line = SafetyLine(en = "Do not approach.", zh = "请勿靠近。")

    private fun child(distance: Double?) = MissingChild(
        caseNumber = "C-7", firstName = "Lin", sex = Sex.GIRL, ageWhenMissing = 8u,
        missingSince = "2026-05-20", lastSeenDistrict = "Haidian", lastSeenLat = 39.96, lastSeenLon = 116.30,
        marks = "scar", photoCount = 1u, distanceM = distance,
    )

    @Test
    fun aCurrentListShowsCasesNearestFirstWithTheSafetyLineInTheReadersLanguage() {
        val list = BulletinList(
            status = BulletinStatus.Current(3uL, Instant.parse("2026-11-01T00:00:00Z"), Instant.parse("2026-11-15T00:00:00Z")),
            safetyLine = line,
            cases = listOf(child(740.0), child(12_345.0)),
        )
        val en = MissingChildren(shanghai, Language.EN)
        assertEquals(listOf("800 m away", "12.3 km away"), en.rows(list).map { it.distance })
        assertEquals("Lin, girl", en.rows(list)[0].title)
        assertTrue(en.header(list).endsWith("valid until 2026-11-15."), en.header(list))
        assertEquals("Do not approach.", en.safetyLine(list))
        val zh = MissingChildren(shanghai, Language.ZH)
        assertEquals("Lin，女孩", zh.rows(list)[0].title)
        assertEquals("请勿靠近。", zh.safetyLine(list))
        assertTrue(zh.rows(list)[0].details.contains("最后出现在Haidian"))
    }

    @Test
    fun anExpiredListSaysSinceWhenAndShowsNoCase() {
        val list = BulletinList(
            status = BulletinStatus.Expired(3uL, Instant.parse("2026-11-15T00:00:00Z")),
            safetyLine = line,
            cases = emptyList(),
        )
        val zh = MissingChildren(shanghai, Language.ZH)
        assertEquals("名单已于 2026-11-15 过期，联网更新前不再显示。", zh.header(list))
        assertEquals(emptyList<MissingChildRow>(), zh.rows(list))
        val never = BulletinList(BulletinStatus.NotFetched, null, emptyList())
        assertTrue(MissingChildren(shanghai, Language.EN).header(never).startsWith("No list yet"))
    }
}

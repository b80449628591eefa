package org.sighting.shell

import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import org.sighting.BulletinList
import org.sighting.BulletinStatus
import org.sighting.MissingChild
import org.sighting.Sex

/** One line of the "Missing children" list: the published case as the reporter reads it. */
data class MissingChildRow(
    val caseNumber: String,
    val title: String,
    val details: String,
    /** "1.8 km away", or null without a position. */
    val distance: String?,
    /** The case has a photo: fetched (`SightingClient.casePhoto`) when the case is opened. */
    val hasPhoto: Boolean,
)

/**
 * The "Missing children" list and case page as the shells show them: nearest first, offline,
 * each with the organisation's safety line, and a feed past its expiry hidden with the reason.
 * Never "a match": the phone shows published cases, it does not compare photos. Plain Kotlin,
 * unit-tested on the JVM against the real library; iOS mirrors it in Swift.
 */
class MissingChildren(
    private val zone: ZoneId = ZoneId.systemDefault(),
    private val language: Language = Language.of(),
) {
    private fun say(en: String, zh: String) = language.say(en, zh)
    private val day = DateTimeFormatter.ofPattern("yyyy-MM-dd")

    /** The line above the list: how current it is, or why there is nothing to show. */
    fun header(list: BulletinList): String = when (val s = list.status) {
        is BulletinStatus.NotFetched -> say(
            "No list yet. It comes with the next connection to the organisation.",
            "还没有名单。下次连接机构时会自动获取。",
        )
        is BulletinStatus.Expired -> say(
            "The list expired on ${date(s.expiredAt)} and is hidden until the phone connects again.",
            "名单已于 ${date(s.expiredAt)} 过期，联网更新前不再显示。",
        )
        is BulletinStatus.Current -> say(
            "Children the organisation is searching for near you. List valid until ${date(s.expiresAt)}.",
            "机构正在寻找的、您附近的儿童。名单有效期至 ${date(s.expiresAt)}。",
        )
    }

    /** The organisation's safety line in the reporter's language, shown with every case. */
    fun safetyLine(list: BulletinList): String? = list.safetyLine?.let { language.say(it.en, it.zh) }

    fun rows(list: BulletinList): List<MissingChildRow> = list.cases.map { row(it) }

    fun row(c: MissingChild): MissingChildRow = MissingChildRow(
        caseNumber = c.caseNumber,
        title = say("${c.firstName}, ${sex(c.sex)}", "${c.firstName}，${sex(c.sex)}"),
        details = say(
            "${c.ageWhenMissing} years old when missing on ${c.missingSince}; last seen in ${c.lastSeenDistrict}",
            "${c.missingSince} 失踪，当时 ${c.ageWhenMissing} 岁；最后出现在${c.lastSeenDistrict}",
        ),
        distance = c.distanceM?.let { distance(it) },
        hasPhoto = c.photoCount > 0u,
    )

    private fun sex(s: Sex) = when (s) {
        Sex.BOY -> say("boy", "男孩")
        Sex.GIRL -> say("girl", "女孩")
        Sex.UNKNOWN -> say("sex not given", "性别未说明")
    }

    private fun distance(m: Double): String =
        if (m < 1000) say("${(m / 100).toInt() * 100 + 100} m away", "${(m / 100).toInt() * 100 + 100} 米外")
        else say("%.1f km away".format(m / 1000), "%.1f 公里外".format(m / 1000))

    private fun date(t: Instant) = day.format(t.atZone(zone))
}

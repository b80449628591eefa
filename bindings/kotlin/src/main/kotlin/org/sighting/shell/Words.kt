package org.sighting.shell

import java.time.Duration
import java.util.Locale
import org.sighting.AttemptError

/** The reporter's language for every word the shells show: Simplified Chinese or English. */
enum class Language {
    EN,
    ZH;

    /** The words in this language: both are written side by side, so neither falls behind. */
    fun say(en: String, zh: String) = if (this == ZH) zh else en

    companion object {
        /** Chinese for any `zh` locale (the app ships Simplified Chinese), else English. */
        fun of(locale: Locale = Locale.getDefault()): Language = if (locale.language == "zh") ZH else EN
    }
}

/** The outbox's words, side by side in both languages so neither can fall behind. */
internal class OutboxWords(private val language: Language) {
    private fun say(en: String, zh: String) = language.say(en, zh)

    fun problem(what: String) = say("Problem on this phone: $what. The report is kept.", "本机出现问题：$what。报告已保留。")
    val draft get() = say("Draft: add a note and send", "草稿：添加说明后发送")
    fun sending(percent: Int) = say("Sending… $percent%", "正在发送… $percent%")
    val sendingStarted get() = say("Sending…", "正在发送…")
    val waiting get() = say("Waiting for a connection", "等待网络连接")
    val delivered get() = say("Delivered: the organisation confirmed it", "已送达：机构已确认收到")
    val unconfirmed get() = say("Sent, but this server gives no confirmation", "已发送，但该服务器不提供确认")
    fun rejected(reason: String?) = say(
        "Refused by the organisation: ${reason ?: "no reason given"}",
        "被机构拒收：${reason ?: "未说明原因"}",
    )
    val purged get() = say("Delivered and removed from this phone", "已送达，并已从本机删除")

    /** Why an attempt failed, from its kind: never from the words of the error. */
    fun why(error: AttemptError): String = when (error) {
        is AttemptError.Network, is AttemptError.Stalled ->
            say("no connection to the organisation", "无法连接到机构")
        is AttemptError.TlsNotTrusted -> say("the server's certificate is not trusted", "服务器证书不受信任")
        is AttemptError.ServerFull -> say("the organisation's server is full for now", "机构服务器暂时已满")
        is AttemptError.ServerStatus -> say("the server asked to try later", "服务器要求稍后再试")
        is AttemptError.ServerProtocol -> say("the server answered wrongly", "服务器应答异常")
        is AttemptError.ReceiptRefused -> say("the server's confirmation did not check out", "服务器的确认未通过验证")
    }

    fun waited(d: Duration): String {
        val hours = d.toHours()
        val minutes = d.toMinutesPart()
        return when {
            d.toDays() >= 1 -> say("Waiting ${d.toDays()} d ${d.toHoursPart()} h", "已等待 ${d.toDays()} 天 ${d.toHoursPart()} 小时")
            hours >= 1 -> say("Waiting $hours h $minutes min", "已等待 $hours 小时 $minutes 分钟")
            else -> say("Waiting ${d.toMinutes()} min", "已等待 ${d.toMinutes()} 分钟")
        }
    }

    fun notSentYet(why: String) = say("Not sent yet: $why. It will be retried.", "尚未发送：$why。稍后将自动重试。")
    fun notSentYet(why: String, at: String, minutes: Long) = say(
        "Not sent yet: $why. Next try at $at (in $minutes min).",
        "尚未发送：$why。将于 $at 重试（$minutes 分钟后）。",
    )
}

package org.sighting.shell

import org.sighting.SightingException

/** What the reporter is told when an action fails: plain words, and what to do. */
fun userMessage(e: SightingException, language: Language = Language.of()): String {
    fun say(en: String, zh: String) = language.say(en, zh)
    return when (e) {
        is SightingException.InvalidPhoto -> say("This photo cannot be used. Please take it again.", "这张照片无法使用，请重新拍摄。")
        is SightingException.PhotoTooLarge -> say(
            "This photo is too large. Please take it again with the app's camera.",
            "照片太大，请用本应用的相机重新拍摄。",
        )
        is SightingException.InvalidLocation -> say(
            "The phone's location looks wrong. The photo can be sent without it.",
            "手机的位置信息似乎有误。照片可以不带位置发送。",
        )
        is SightingException.StorageFull -> say(
            "The phone is full. Free some space; reports already waiting are kept.",
            "手机存储已满。请释放空间；等待发送的报告会保留。",
        )
        is SightingException.KeyStore -> say(
            "The phone's secure storage is not available. Restart the phone and try again.",
            "手机的安全存储不可用。请重启手机后再试。",
        )
        is SightingException.Network -> say(
            "The organisation's server is not set up correctly in Settings.",
            "设置中的机构服务器配置不正确。",
        )
        is SightingException.Unreachable -> say(
            "The organisation's server cannot be reached now. The app tries again later.",
            "现在无法连接到机构服务器。应用稍后会重试。",
        )
        is SightingException.BulletinsRefused -> say(
            "The list of missing children from the server did not check out and was not used. The list you had is kept.",
            "服务器发来的失踪儿童名单未通过校验，未被采用。已保留原有名单。",
        )
        is SightingException.CasePhotoRefused -> say(
            "The case photo from the server did not match the published list and was not shown.",
            "服务器发来的案件照片与发布的名单不符，未予显示。",
        )
        is SightingException.Crypto -> say("Encryption failed. Nothing was sent. Please try again.", "加密失败，未发送任何内容。请重试。")
        is SightingException.InvalidInput -> say("That did not work: ${e.reason}", "操作未成功：${e.reason}")
        is SightingException.Internal -> say(
            "Something went wrong inside the app. Your reports are kept.",
            "应用内部出错。您的报告已保留。",
        )
    }
}

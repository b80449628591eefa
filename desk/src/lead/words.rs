//! The desk's codes in the officer's words: triage states, audit actions, the reporter's
//! answers, compass directions. Every code the package may meet has words in both languages;
//! nothing here returns a code itself.

use sighting_core::report::{Activity, AgeBand, Observations, Sex, WithAdults};

use super::contents::Lang;
use crate::state::{AuditEntry, Triage};

/// One of two wordings, by language.
pub(super) fn pick(lang: Lang, en: &str, zh: &str) -> String {
    match lang {
        Lang::En => en.to_string(),
        Lang::Zh => zh.to_string(),
    }
}

pub(super) fn triage(lang: Lang, code: &str) -> String {
    let Ok(t) = code.parse::<Triage>() else {
        return pick(lang, "another status", "其他状态");
    };
    let (en, zh) = match t {
        Triage::New => ("newly received", "新收到"),
        Triage::InReview => ("in review", "审核中"),
        Triage::PossibleMatch => (
            "a possible match awaiting a second reviewer",
            "可能相符，待第二位审核员确认",
        ),
        Triage::ForwardedToPolice => ("forwarded to the police", "已转交警方"),
        Triage::LinkedToCase => ("linked to a case", "已关联案件"),
        Triage::NotRelevant => ("not relevant", "无关"),
        Triage::Duplicate => ("a duplicate", "重复"),
    };
    pick(lang, en, zh)
}

/// One custody entry as a sentence: who did what (the time is shown beside it).
pub(super) fn custody(lang: Lang, e: &AuditEntry) -> String {
    let who = e
        .reviewer
        .clone()
        .unwrap_or_else(|| pick(lang, "The review desk", "审核台"));
    let to = e.to.as_deref().unwrap_or_default();
    let case = e.case_number.as_deref().unwrap_or("?");
    let what = match (e.action.as_str(), lang) {
        ("opened", Lang::En) if to == "verified" => {
            "decrypted the report; every check passed".to_string()
        }
        ("opened", Lang::Zh) if to == "verified" => "解密了报告，全部核验通过".to_string(),
        ("opened", Lang::En) => "decrypted the report; a check failed".to_string(),
        ("opened", Lang::Zh) => "解密了报告，核验未通过".to_string(),
        ("triage", Lang::En) => format!(
            "changed the status from “{}” to “{}”",
            triage(lang, e.from.as_deref().unwrap_or_default()),
            triage(lang, to)
        ),
        ("triage", Lang::Zh) => format!(
            "将状态由“{}”改为“{}”",
            triage(lang, e.from.as_deref().unwrap_or_default()),
            triage(lang, to)
        ),
        ("comment", Lang::En) => "added a note; the status stayed".to_string(),
        ("comment", Lang::Zh) => "添加了备注，状态未变".to_string(),
        ("assign", Lang::En) if to.is_empty() => "removed the assignment".to_string(),
        ("assign", Lang::Zh) if to.is_empty() => "取消了指派".to_string(),
        ("assign", Lang::En) => format!("assigned it to {to}"),
        ("assign", Lang::Zh) => format!("指派给 {to}"),
        ("lead_package", Lang::En) => "made a lead package of it for the police".to_string(),
        ("lead_package", Lang::Zh) => "为警方制作了线索包".to_string(),
        ("candidate_decision", Lang::En) if to == "possible_match" => {
            format!("judged it a possible match for case {case}")
        }
        ("candidate_decision", Lang::Zh) if to == "possible_match" => {
            format!("判断其可能与案件 {case} 相符")
        }
        ("candidate_decision", Lang::En) => format!("judged it not the child of case {case}"),
        ("candidate_decision", Lang::Zh) => format!("判断其不是案件 {case} 的儿童"),
        ("link_confirmed", Lang::En) => {
            format!("as a second reviewer, confirmed its link to case {case}")
        }
        ("link_confirmed", Lang::Zh) => format!("作为第二位审核员，确认其与案件 {case} 的关联"),
        ("link_rejected", Lang::En) => {
            format!("as a second reviewer, rejected its link to case {case}")
        }
        ("link_rejected", Lang::Zh) => format!("作为第二位审核员，否决其与案件 {case} 的关联"),
        ("lead_override", Lang::En) => format!(
            "as case manager, sent it to the police for case {case} without a confirmed link"
        ),
        ("lead_override", Lang::Zh) => {
            format!("作为案件负责人，在关联未经确认时将其交给警方（案件 {case}）")
        }
        (_, Lang::En) => "made another change (see custody.json)".to_string(),
        (_, Lang::Zh) => "作了其他更改（见 custody.json）".to_string(),
    };
    format!("{who}: {what}")
}

/// What the reporter chose from the app's lists, as one phrase each.
pub(super) fn observations(lang: Lang, o: &Observations) -> Vec<String> {
    let mut seen = Vec::new();
    if let Some(sex) = o.sex {
        seen.push(self::sex(lang, sex));
    }
    if let Some(age) = o.age_band {
        let (en, zh) = match age {
            AgeBand::Under5 => ("looks under 5", "看起来不到 5 岁"),
            AgeBand::From5To9 => ("looks 5 to 9", "看起来 5 至 9 岁"),
            AgeBand::From10To13 => ("looks 10 to 13", "看起来 10 至 13 岁"),
            AgeBand::From14To17 => ("looks 14 to 17", "看起来 14 至 17 岁"),
        };
        seen.push(pick(lang, en, zh));
    }
    if let Some(injury) = o.injury_or_disability {
        seen.push(if injury {
            pick(lang, "visible injury or disability", "有明显伤病或残疾")
        } else {
            pick(lang, "no visible injury or disability", "无明显伤病或残疾")
        });
    }
    if let Some(adults) = o.with_adults {
        let (en, zh) = match adults {
            WithAdults::None => ("no adult with the child", "身边没有成年人"),
            WithAdults::One => ("with one adult", "有一名成年人陪同"),
            WithAdults::Several => ("with several adults", "有多名成年人陪同"),
        };
        seen.push(pick(lang, en, zh));
    }
    if let Some(activity) = o.activity {
        let (en, zh) = match activity {
            Activity::Begging => ("begging", "在乞讨"),
            Activity::Selling => ("selling things", "在售卖物品"),
            Activity::Performing => ("performing", "在表演"),
            Activity::Other => ("doing something else", "在做其他事"),
        };
        seen.push(pick(lang, en, zh));
    }
    seen
}

pub(super) fn sex(lang: Lang, sex: Sex) -> String {
    match sex {
        Sex::Boy => pick(lang, "boy", "男孩"),
        Sex::Girl => pick(lang, "girl", "女孩"),
        Sex::Unknown => pick(lang, "sex not known", "性别不明"),
    }
}

/// Why the phone sent no location.
pub(super) fn location_missing(lang: Lang, reason: &str) -> String {
    let (en, zh) = match reason {
        "permission_denied" => (
            "the reporter did not allow the app to use location",
            "报告人未允许应用使用位置",
        ),
        "disabled" => ("location was turned off on the phone", "手机关闭了定位"),
        "no_fix" => ("the phone found no position in time", "手机未能及时定位"),
        "stale" => (
            "the phone's last position was too old to use",
            "手机最近的位置已过时",
        ),
        _ => (
            "the phone had no location service",
            "手机没有可用的定位服务",
        ),
    };
    pick(lang, en, zh)
}

/// The compass direction from one point to another, in eight steps.
pub(super) fn direction(lang: Lang, from: (f64, f64), to: (f64, f64)) -> String {
    let (lat1, lat2) = (from.0.to_radians(), to.0.to_radians());
    let dlon = (to.1 - from.1).to_radians();
    let y = dlon.sin() * lat2.cos();
    let x = lat1.cos() * lat2.sin() - lat1.sin() * lat2.cos() * dlon.cos();
    let bearing = y.atan2(x).to_degrees().rem_euclid(360.0);
    let step = ((bearing + 22.5) / 45.0) as usize % 8;
    let en = [
        "north",
        "north-east",
        "east",
        "south-east",
        "south",
        "south-west",
        "west",
        "north-west",
    ];
    let zh = ["北", "东北", "东", "东南", "南", "西南", "西", "西北"];
    pick(lang, en[step], zh[step])
}

/// How far off the phone's clock was (seconds, positive: ahead of the server's), in the unit
/// a person reads it in: "19 years" means more than "-571615573 s".
pub(super) fn clock_off(lang: Lang, skew_s: i64) -> String {
    let s = skew_s.unsigned_abs();
    let (n, en, zh) = match s {
        s if s >= 2 * 365 * 86_400 => (s / (365 * 86_400), "years", "年"),
        s if s >= 2 * 86_400 => (s / 86_400, "days", "天"),
        s if s >= 2 * 3_600 => (s / 3_600, "hours", "小时"),
        s if s >= 120 => (s / 60, "minutes", "分钟"),
        s => (s, "seconds", "秒"),
    };
    match (lang, skew_s >= 0) {
        (Lang::En, true) => format!("{n} {en} ahead of the server's: trust the corrected time"),
        (Lang::En, false) => format!("{n} {en} behind the server's: trust the corrected time"),
        (Lang::Zh, true) => format!("比服务器快约 {n} {zh}：请以校正后的时间为准"),
        (Lang::Zh, false) => format!("比服务器慢约 {n} {zh}：请以校正后的时间为准"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_clock_far_off_is_said_in_years_and_a_near_one_in_minutes() {
        use super::{clock_off, Lang};
        assert_eq!(
            clock_off(Lang::En, -571_615_573),
            "18 years behind the server's: trust the corrected time"
        );
        assert_eq!(
            clock_off(Lang::Zh, 300),
            "比服务器快约 5 分钟：请以校正后的时间为准"
        );
        assert_eq!(
            clock_off(Lang::En, 3 * 86_400 + 5),
            "3 days ahead of the server's: trust the corrected time"
        );
    }

    use super::*;

    #[test]
    fn every_triage_state_and_action_has_words_not_codes() {
        for lang in [Lang::En, Lang::Zh] {
            for t in Triage::ALL {
                assert_ne!(triage(lang, t.as_str()), t.as_str());
            }
            let changes = [
                ("opened", None, Some("verified")),
                ("triage", Some("new"), Some("in_review")),
                ("assign", None, Some("bo")),
                ("lead_package", None, None),
                ("candidate_decision", None, Some("possible_match")),
                (
                    "link_confirmed",
                    Some("possible_match"),
                    Some("linked_to_case"),
                ),
                ("link_rejected", Some("possible_match"), Some("in_review")),
                ("lead_override", None, None),
                ("something_new", Some("a_code"), Some("b_code")),
            ];
            for (action, from, to) in changes {
                let entry = AuditEntry {
                    seq: 1,
                    at_ms: 0,
                    reviewer: None,
                    sighting_id: None,
                    case_number: Some("C-1".into()),
                    action: action.into(),
                    from: from.map(String::from),
                    to: to.map(String::from),
                    note: None,
                };
                let words = custody(lang, &entry);
                let codes = [Some(action), from, to.filter(|t| *t != "bo")];
                // A code as a word of its own ("new"), not inside one ("newly").
                let shown: Vec<&str> = words
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .collect();
                for code in codes.into_iter().flatten() {
                    assert!(!shown.contains(&code), "{words} shows {code}");
                }
            }
        }
    }

    #[test]
    fn directions_point_the_right_way() {
        let beijing = (39.9, 116.4);
        assert_eq!(direction(Lang::En, beijing, (40.0, 116.4)), "north");
        assert_eq!(direction(Lang::En, beijing, (39.9, 116.5)), "east");
        assert_eq!(direction(Lang::Zh, beijing, (39.8, 116.3)), "西南");
    }
}

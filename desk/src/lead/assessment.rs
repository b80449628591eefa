//! The reviewers' assessment of a sighting's link to the case, as the officer reads it: who
//! proposed it as a possible match and their note, the second reviewer who confirmed it and
//! theirs, and when; or, when it goes out on a case manager's override, that no second reviewer
//! confirmed it, who sent it anyway and their written reason.

use jiff::tz::TimeZone;

use super::contents::{local_ms, Block, Lang, Text};
use super::words::pick;
use crate::state::{Decision, DecisionRow, LinkReview};

/// What the package says about one sighting's link to its case.
pub struct Assessment {
    /// The latest decision on the sighting for this case, with any second reviewer's answer.
    pub decision: Option<DecisionRow>,
    /// The override it goes out on, when its link does not stand confirmed.
    pub overridden: Option<Override>,
}

/// A case manager's override of the rule that only confirmed links go out.
pub struct Override {
    /// The case manager making the package.
    pub by: String,
    pub reason: String,
}

pub(super) fn blocks(a: &Assessment, lang: Lang, zone: &TimeZone) -> Vec<Block> {
    let w = |en: &str, zh: &str| pick(lang, en, zh);
    let note = |n: &Option<String>| {
        n.clone()
            .filter(|n| !n.trim().is_empty())
            .map_or_else(|| Text::Desk(w("none written", "未填写")), Text::Quoted)
    };
    let mut blocks = vec![Block::Subheading(w(
        "The reviewers' assessment",
        "审核人员的评估",
    ))];
    if let Some(o) = &a.overridden {
        let confirmed_once = a.decision.as_ref().is_some_and(DecisionRow::confirmed);
        blocks.push(Block::Warning(match (lang, confirmed_once) {
            (Lang::En, false) => format!(
                "No second reviewer confirmed this sighting's link to the case. A case manager, {}, sent it to the police anyway; their reason is below.",
                o.by
            ),
            (Lang::Zh, false) => format!(
                "没有第二位审核员确认本目击报告与案件的关联。案件负责人 {} 仍将其交给警方，理由见下。",
                o.by
            ),
            (Lang::En, true) => format!(
                "A second reviewer confirmed this sighting's link to the case, but it was reopened since and not confirmed again. A case manager, {}, sent it to the police anyway; their reason is below.",
                o.by
            ),
            (Lang::Zh, true) => format!(
                "第二位审核员曾确认本目击报告与案件的关联，但此后该报告被重新审核，未再次确认。案件负责人 {} 仍将其交给警方，理由见下。",
                o.by
            ),
        }));
    }
    // Who did what, then when and their own words: labels short enough for one line.
    let mut rows = Rows {
        lang,
        zone,
        rows: Vec::new(),
    };
    let first = w("First reviewer", "第一位审核员");
    let second = w("Second reviewer", "第二位审核员");
    match &a.decision {
        None => rows.say(
            first,
            w(
                "no reviewer proposed it as a possible match for this case",
                "没有审核员将其提为本案的可能相符",
            ),
        ),
        Some(d) => {
            let did = match d.decision {
                Decision::PossibleMatch => w("proposed it as a possible match", "提出可能相符"),
                Decision::NotThisChild => w("judged it not this child", "判断不是该儿童"),
            };
            rows.person(first, &d.by, &did, d.at_ms, note(&d.note));
            match d.review {
                Some(review) => {
                    let did = match review {
                        LinkReview::Confirmed => w("confirmed the link", "确认了关联"),
                        LinkReview::Rejected => w("rejected the link", "否决了关联"),
                    };
                    let by = d.reviewed_by.as_deref().unwrap_or("?");
                    let at = d.reviewed_at_ms.unwrap_or_default();
                    rows.person(second, by, &did, at, note(&d.review_note));
                }
                None if d.decision == Decision::PossibleMatch => rows.say(
                    second,
                    w("none has confirmed or rejected it", "尚无人确认或否决"),
                ),
                None => {}
            }
        }
    }
    if let Some(o) = &a.overridden {
        let did = w("sent it without a confirmed link", "在关联未经确认时仍发送");
        let manager = w("Case manager", "案件负责人");
        rows.say(manager, said_by(lang, &o.by, &did));
        let reason = (w("Their reason", "其理由"), Text::Quoted(o.reason.clone()));
        rows.rows.push(reason);
    }
    blocks.push(Block::Rows(rows.rows));
    blocks
}

/// The assessment's label and value rows.
struct Rows<'a> {
    lang: Lang,
    zone: &'a TimeZone,
    rows: Vec<(String, Text)>,
}

impl Rows<'_> {
    fn say(&mut self, label: String, value: String) {
        self.rows.push((label, Text::Desk(value)));
    }

    /// A reviewer's part: who did what, when, and their note.
    fn person(&mut self, label: String, name: &str, did: &str, at_ms: i64, note: Text) {
        let lang = self.lang;
        self.say(label, said_by(lang, name, did));
        let when = local_ms(self.zone, at_ms);
        self.say(pick(lang, "When", "时间"), when);
        self.rows.push((pick(lang, "Their note", "其备注"), note));
    }
}

/// "ana: confirmed the link" / "ana：确认了关联".
fn said_by(lang: Lang, name: &str, did: &str) -> String {
    match lang {
        Lang::En => format!("{name}: {did}"),
        Lang::Zh => format!("{name}：{did}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(blocks: &[Block]) -> String {
        let mut all = String::new();
        for block in blocks {
            match block {
                Block::Subheading(t) | Block::Warning(t) => all.push_str(t),
                Block::Rows(rows) => {
                    for (label, value) in rows {
                        let (Text::Desk(v) | Text::Quoted(v)) = value;
                        all.push_str(&format!("{label}: {v}\n"));
                    }
                }
                _ => {}
            }
            all.push('\n');
        }
        all
    }

    fn decision(review: Option<LinkReview>) -> DecisionRow {
        DecisionRow {
            sighting_id: "r1".into(),
            decision: Decision::PossibleMatch,
            by: "ana".into(),
            at_ms: 1_796_279_858_000,
            note: Some("red coat".into()),
            review,
            reviewed_by: review.map(|_| "bo".into()),
            reviewed_at_ms: review.map(|_| 1_796_283_458_000),
            review_note: review.map(|_| "same coat, same age".into()),
        }
    }

    /// Every way a link can stand, in both languages: names, notes and local times shown, the
    /// override's reason too, and never a code.
    #[test]
    fn the_assessment_names_who_decided_in_words_not_codes() {
        let zone = TimeZone::get("Asia/Shanghai").unwrap();
        let override_ = || {
            Some(Override {
                by: "chen".into(),
                reason: "the officer asked".into(),
            })
        };
        let not_this_child = DecisionRow {
            decision: Decision::NotThisChild,
            ..decision(None)
        };
        let cases = [
            (Some(decision(Some(LinkReview::Confirmed))), None),
            (Some(decision(None)), override_()),
            (Some(decision(Some(LinkReview::Rejected))), override_()),
            (Some(decision(Some(LinkReview::Confirmed))), override_()),
            (Some(not_this_child), override_()),
            (None, override_()),
        ];
        for (d, overridden) in cases {
            let confirmed = d.as_ref().is_some_and(|d| d.review.is_some());
            let proposed = d.is_some();
            let was_overridden = overridden.is_some();
            let a = Assessment {
                decision: d,
                overridden,
            };
            for lang in [Lang::En, Lang::Zh] {
                let text = said(&blocks(&a, lang, &zone));
                for code in [
                    "possible_match",
                    "not_this_child",
                    "case_manager",
                    "link_confirmed",
                    "lead_override",
                ] {
                    assert!(!text.contains(code), "{code} in {text}");
                }
                if proposed {
                    assert!(text.contains("ana") && text.contains("red coat"), "{text}");
                    assert!(
                        text.contains("2026-12-03 14:37:38 (Asia/Shanghai"),
                        "{text}"
                    );
                }
                if confirmed {
                    assert!(text.contains("bo") && text.contains("same coat, same age"));
                    assert!(text.contains("2026-12-03 15:37:38"), "{text}");
                }
                if was_overridden {
                    assert!(text.contains("chen") && text.contains("the officer asked"));
                    let none = pick(lang, "No second reviewer confirmed", "没有第二位审核员确认");
                    let reopened = pick(lang, "reopened since", "重新审核");
                    assert!(text.contains(&none) || text.contains(&reopened), "{text}");
                }
            }
        }
    }
}

//! What the officer reads, as data in one language, for the PDF to draw. Times are in the
//! officer's zone, named; places in words, WGS-84, and GCJ-02 with a mainland map link inside
//! mainland China; who assessed the link to the case ([`super::assessment`]); codes never
//! appear, only words.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use sighting_core::bulletins::distance_m;

use super::assessment;
use super::words::{self, pick};
use super::LeadItem;
use crate::gcj02;
use crate::state::CaseRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-Hans",
            Lang::En => "en",
        }
    }
}

/// One language's whole package, in reading order; `verify` goes on the last page.
pub struct Sheet {
    pub lang: Lang,
    pub title: String,
    pub blocks: Vec<Block>,
    pub verify: Vec<Block>,
}

pub enum Block {
    Heading(String),
    Subheading(String),
    Para(String),
    /// What the officer must not miss, in bold.
    Warning(String),
    Bullets(Vec<String>),
    /// Label and value pairs; a value may be a person's own words.
    Rows(Vec<(String, Text)>),
    /// Photos side by side, each with its caption.
    Photos(Vec<Figure>),
    /// A command to type, shown as written.
    Command(String),
    PageBreak,
}

/// A value: the desk's words, or a person's own (the reporter's note, a reviewer's note, a
/// case manager's reason), shown as written and isolated from the text around it: they may run
/// right to left or carry direction controls.
pub enum Text {
    Desk(String),
    Quoted(String),
}

pub struct Figure {
    pub caption: String,
    pub jpeg: Vec<u8>,
}

/// What a receipt check found (see the package's assembly).
pub enum ReceiptCheck {
    Signed { received_at: String },
    Bad,
    Missing,
}

/// Everything a sheet is made from.
pub struct Facts<'a> {
    pub case: &'a CaseRow,
    pub case_photo: Option<&'a [u8]>,
    pub items: &'a [LeadItem],
    /// One per item.
    pub receipts: &'a [ReceiptCheck],
    pub zone: &'a TimeZone,
    pub contact: &'a str,
    pub package_name: &'a str,
    pub by: &'a str,
    pub now_ms: i64,
    /// `lead.pub`'s key line, so the officer can compare it with the one they were given.
    pub public_key: &'a str,
}

/// A time in the officer's zone, with the zone named: `2026-12-03 14:37:38 (Asia/Shanghai)`.
pub fn local_time(zone: &TimeZone, at: Timestamp) -> String {
    let zoned = at.to_zoned_datetime(zone.clone());
    let name = zone.iana_name().map_or_else(
        || zoned.strftime("UTC%:z").to_string(),
        |n| format!("{n}, UTC{}", zoned.strftime("%:z")),
    );
    format!("{} ({name})", zoned.strftime("%Y-%m-%d %H:%M:%S"))
}

/// An RFC 3339 time from a report or receipt, in the officer's zone; `None` when absent or
/// not a time.
fn local_rfc3339(zone: &TimeZone, text: Option<&str>) -> Option<String> {
    let at: Timestamp = text?.parse().ok()?;
    Some(local_time(zone, at))
}

pub(super) fn local_ms(zone: &TimeZone, ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|at| local_time(zone, at))
        .unwrap_or_else(|_| "?".into())
}

pub fn sheet(f: &Facts<'_>, lang: Lang) -> Sheet {
    let w = |en: &str, zh: &str| pick(lang, en, zh);
    let case = f.case;
    let name = &case.details.first_name;
    let mut blocks = vec![
        Block::Para(match lang {
            Lang::En => format!(
                "Package {} · made by {} at {} · times below are in {}.",
                f.package_name,
                f.by,
                local_ms(f.zone, f.now_ms),
                f.zone.iana_name().unwrap_or("UTC")
            ),
            Lang::Zh => format!(
                "线索包 {} · 制作人 {} · 制作时间 {} · 以下时间均为 {} 时区。",
                f.package_name,
                f.by,
                local_ms(f.zone, f.now_ms),
                f.zone.iana_name().unwrap_or("UTC")
            ),
        }),
        Block::Heading(w("What this package is", "本线索包的性质")),
        Block::Bullets(vec![
            w(
                "A lead, not an identification: a member of the public sent a photo that our reviewers believe may show this child. Only the police can establish who is in the photo.",
                "这是一条线索，不是身份认定：一名群众发来照片，我们的审核人员认为照片中可能是该儿童。照片中是谁，只能由警方查明。",
            ),
            w(
                "Do not approach or confront the child or the adults with them on the strength of this package alone; the child's safety comes first.",
                "请勿仅凭本线索包接近或与该儿童及其身边成年人对峙；儿童的安全第一。",
            ),
            w(
                "The person who sent the photo is anonymous: nothing here identifies them, and the organisation cannot contact them.",
                "发送照片的人是匿名的：本包中没有任何可识别其身份的信息，机构也无法联系此人。",
            ),
        ]),
        Block::Heading(w("The case", "案件")),
        Block::Rows(case_rows(case, lang)),
    ];
    for i in 0..f.items.len() {
        blocks.push(Block::PageBreak);
        blocks.extend(sighting_blocks(f, lang, i));
    }
    blocks.push(Block::Heading(w("Contact the organisation", "联系机构")));
    blocks.push(Block::Para(f.contact.to_string()));
    let title = match lang {
        Lang::En => format!(
            "Lead for case {}: a possible sighting of {name}",
            case.number
        ),
        Lang::Zh => format!("案件 {} 线索：可能见到 {name}", case.number),
    };
    Sheet {
        lang,
        title,
        blocks,
        verify: verify_blocks(f, lang),
    }
}

fn case_rows(case: &CaseRow, lang: Lang) -> Vec<(String, Text)> {
    let w = |en: &str, zh: &str| pick(lang, en, zh);
    let d = &case.details;
    let desk = |s: String| Text::Desk(s);
    let mut rows = vec![
        (w("Case number", "案件编号"), desk(case.number.clone())),
        (w("First name", "名字"), desk(d.first_name.clone())),
        (
            w("Police reference", "警方案件编号"),
            desk(
                d.police_reference
                    .clone()
                    .unwrap_or_else(|| w("none recorded", "未登记")),
            ),
        ),
        (
            w("Sex, age when missing", "性别、失踪时年龄"),
            desk(match lang {
                Lang::En => format!("{}, {}", words::sex(lang, d.sex), d.age_when_missing),
                Lang::Zh => format!("{}，{} 岁", words::sex(lang, d.sex), d.age_when_missing),
            }),
        ),
        (
            w("Missing since", "失踪日期"),
            desk(d.missing_since.clone()),
        ),
        (
            w("Last seen", "最后出现地点"),
            desk(format!(
                "{} · {:.5}, {:.5} (WGS-84)",
                d.last_seen_district, d.last_seen_lat, d.last_seen_lon
            )),
        ),
    ];
    if !d.marks.trim().is_empty() {
        rows.push((w("Distinguishing marks", "体貌特征"), desk(d.marks.clone())));
    }
    rows
}

fn sighting_blocks(f: &Facts<'_>, lang: Lang, i: usize) -> Vec<Block> {
    let w = |en: &str, zh: &str| pick(lang, en, zh);
    let item = &f.items[i];
    let s = &item.sighting;
    let heading = match lang {
        Lang::En => format!("Sighting {} of {} (report {})", i + 1, f.items.len(), s.id),
        Lang::Zh => format!(
            "目击报告 {} / {}（报告编号 {}）",
            i + 1,
            f.items.len(),
            s.id
        ),
    };
    let mut figures = Vec::new();
    if let Some(photo) = f.case_photo {
        figures.push(Figure {
            caption: match lang {
                Lang::En => format!("Case photo of {}", f.case.details.first_name),
                Lang::Zh => format!("案件照片：{}", f.case.details.first_name),
            },
            jpeg: photo.to_vec(),
        });
    }
    figures.push(Figure {
        caption: w("The photo the member of the public sent", "群众发来的照片"),
        jpeg: item.photo.clone(),
    });
    let none = || Text::Desk(w("not known", "未知"));
    let time = |t: Option<&str>| local_rfc3339(f.zone, t).map_or_else(none, Text::Desk);
    let mut rows = vec![
        (
            w("Taken, by the phone's clock", "拍摄时间（手机时钟）"),
            time(s.captured_at.as_deref()),
        ),
        (
            w(
                "Taken, corrected by the server's clock",
                "拍摄时间（按服务器时钟校正）",
            ),
            time(s.corrected_captured_at.as_deref()),
        ),
        (
            w("Received by the organisation", "机构收到时间"),
            time(s.received_at.as_deref()),
        ),
    ];
    if s.clock_flagged {
        let off = s.clock_skew_s.unwrap_or(0);
        rows.push((
            w("The phone's clock", "手机时钟"),
            Text::Desk(words::clock_off(lang, off)),
        ));
    }
    rows.extend(place_rows(f, lang, s));
    if let Some(o) = &s.observations {
        if let Some(number) = &o.case_number {
            rows.push((
                w("The sender named the case", "发送者指明的案件"),
                Text::Quoted(number.clone()),
            ));
        }
        let seen = words::observations(lang, o);
        if !seen.is_empty() {
            rows.push((
                w("What the sender saw", "发送者所见"),
                Text::Desk(seen.join(if lang == Lang::En { "; " } else { "；" })),
            ));
        }
    }
    rows.push((
        w("The sender's note", "发送者留言"),
        s.note
            .clone()
            .filter(|n| !n.trim().is_empty())
            .map_or_else(|| Text::Desk(w("none", "无")), Text::Quoted),
    ));
    let custody = item
        .custody
        .iter()
        .map(|e| {
            format!(
                "{} — {}",
                local_ms(f.zone, e.at_ms),
                words::custody(lang, e)
            )
        })
        .collect();
    let mut blocks = vec![
        Block::Heading(heading),
        Block::Photos(figures),
        Block::Rows(rows),
    ];
    blocks.extend(assessment::blocks(&item.assessment, lang, f.zone));
    blocks.extend([
        Block::Subheading(w("What the desk checked", "审核台的核验")),
        Block::Bullets(checks(lang, &f.receipts[i], f.zone)),
        Block::Subheading(w("Chain of custody", "保管链")),
        Block::Bullets(custody),
    ]);
    blocks
}

fn place_rows(f: &Facts<'_>, lang: Lang, s: &crate::sightings::Sighting) -> Vec<(String, Text)> {
    let w = |en: &str, zh: &str| pick(lang, en, zh);
    let (Some(lat), Some(lon)) = (s.lat, s.lon) else {
        let why = s.location_missing.as_deref().unwrap_or_default();
        return vec![(
            w("Where", "地点"),
            Text::Desk(match lang {
                Lang::En => format!("not known: {}", words::location_missing(lang, why)),
                Lang::Zh => format!("未知：{}", words::location_missing(lang, why)),
            }),
        )];
    };
    let d = &f.case.details;
    let last_seen = (d.last_seen_lat, d.last_seen_lon);
    let km = distance_m(last_seen, (lat, lon)) / 1000.0;
    let dir = words::direction(lang, last_seen, (lat, lon));
    let place = match lang {
        Lang::En if km < 0.1 => format!(
            "where {} was last seen ({})",
            d.first_name, d.last_seen_district
        ),
        Lang::Zh if km < 0.1 => {
            format!("{}最后出现的地点（{}）", d.first_name, d.last_seen_district)
        }
        Lang::En => format!(
            "{km:.1} km {dir} of where {} was last seen ({})",
            d.first_name, d.last_seen_district
        ),
        Lang::Zh => format!(
            "{}最后出现地点（{}）以{dir}约 {km:.1} 公里",
            d.first_name, d.last_seen_district
        ),
    };
    let mut rows = vec![
        (w("Where", "地点"), Text::Desk(place)),
        (
            w("Position (WGS-84, GPS)", "坐标（WGS-84，GPS）"),
            Text::Desk(format!("{lat:.6}, {lon:.6}")),
        ),
    ];
    let link = gcj02::MapLink::for_point(lat, lon);
    if let Some((g_lat, g_lon)) = link.gcj02 {
        rows.push((
            w(
                "Position (GCJ-02, for maps in mainland China)",
                "坐标（GCJ-02，国内地图用）",
            ),
            Text::Desk(format!("{g_lat:.6}, {g_lon:.6}")),
        ));
    }
    rows.push((w("Map", "地图"), Text::Desk(link.url)));
    if let Some(accuracy) = s.accuracy_m {
        rows.push((
            w("Accuracy", "精度"),
            Text::Desk(match lang {
                Lang::En => format!("within about {accuracy:.0} m, as the phone reported"),
                Lang::Zh => format!("约 {accuracy:.0} 米以内（手机报告）"),
            }),
        ));
    }
    rows
}

/// The checks the desk made, in plain words.
fn checks(lang: Lang, receipt: &ReceiptCheck, zone: &TimeZone) -> Vec<String> {
    let w = |en: &str, zh: &str| pick(lang, en, zh);
    let mut lines = vec![
        w(
            "The report was sealed on the phone to the organisation's key and decrypted only at its review desk.",
            "报告在手机上即用机构密钥加密，仅在机构审核台解密。",
        ),
        w(
            "The report's contents are signed by the sending phone, and the signature verified.",
            "报告内容由发送手机签名，签名已验证。",
        ),
        w(
            "The photo is the one the phone signed: not swapped or altered since.",
            "照片与手机签名时一致：之后未被替换或修改。",
        ),
        w(
            "The intake server checked the phone's signature before it accepted the upload.",
            "接收服务器在接受上传前已核验手机的签名。",
        ),
    ];
    lines.push(match receipt {
        ReceiptCheck::Signed { received_at } => {
            let at = local_rfc3339(zone, Some(received_at)).unwrap_or_else(|| received_at.clone());
            match lang {
                Lang::En => format!(
                    "The organisation's intake server signed a receipt for it at {at}; the receipt verifies."
                ),
                Lang::Zh => format!("机构接收服务器于 {at} 为其签发了收据；收据验证通过。"),
            }
        }
        ReceiptCheck::Bad => w(
            "The intake receipt does NOT verify against the organisation's intake key.",
            "接收收据未能通过机构接收密钥的验证。",
        ),
        ReceiptCheck::Missing => w(
            "This desk holds no intake receipt for it.",
            "本审核台没有该报告的接收收据。",
        ),
    });
    lines
}

fn verify_blocks(f: &Facts<'_>, lang: Lang) -> Vec<Block> {
    let w = |en: &str, zh: &str| pick(lang, en, zh);
    vec![
        Block::Heading(w("How to check this package", "如何核验本线索包")),
        Block::Para(w(
            "The organisation signed the ZIP file with its lead-signing key. Get its public key, lead.pub, from the organisation through a channel you trust (not from this package), then run:",
            "机构已用其线索签名密钥对 ZIP 文件签名。请通过可信渠道（而非本包）向机构索取公钥 lead.pub，然后运行：",
        )),
        Block::Command(format!("minisign -Vm {} -p lead.pub", f.package_name)),
        Block::Para(w(
            "It must say “Signature and comment signature verified” and show the package's name in the trusted comment. Any other answer: do not rely on the package; call the organisation.",
            "输出必须为“Signature and comment signature verified”，且可信注释中显示本包的文件名。如有其他结果，请勿依赖本包，并致电机构。",
        )),
        Block::Para(w(
            "The public key this package was signed with (compare it with yours):",
            "本包所用签名公钥（请与您手中的公钥比对）：",
        )),
        Block::Command(f.public_key.to_string()),
        Block::Para(w(
            "Then unzip it and check every file against its list of SHA-256 hashes:",
            "然后解压，并按 SHA-256 清单核对每个文件：",
        )),
        Block::Command("sha256sum -c SHA256SUMS".into()),
        Block::Para(w(
            "Each sighting's folder also holds the report's signed contents (manifest.json), the intake server's signed receipt (intake-record.json) and the desk's full log (custody.json).",
            "每个目击报告的文件夹中还有报告的签名内容（manifest.json）、接收服务器签发的收据（intake-record.json）和审核台的完整记录（custody.json）。",
        )),
    ]
}

//! Lead packages: what a police officer or a family's caseworker takes away about one sighting
//! or a few, as a ZIP anyone can open without Sighting: `index.html` (printable, in English and
//! Simplified Chinese, no script), and per sighting the photo, the signed manifest, the intake
//! record and the chain of custody as JSON; `SHA256SUMS` lists every file's hash
//! (`sha256sum -c SHA256SUMS` checks them).
//!
//! Only verified reports are ever packaged: a report that failed a check is never a lead.

mod config;
mod contents;
mod fonts;
mod layout;
mod package;
mod pdf;
pub mod sign;
mod words;

use std::io::Write;

use serde_json::json;
use sighting_core::wire::hex;
use time::format_description::well_known::Rfc3339;

use super::gcj02;
use super::receipts::ReceiptCheck;
use super::sightings::Sighting;
use super::state::{AuditEntry, TriageRow};

pub use config::{LeadConfig, SETTINGS_FILE};
pub use contents::Lang;
pub use fonts::{FontError, Fonts};
pub use package::{
    export, languages, LeadCase, LeadRequest, LeadSettings, Package, PackageError, MAX_SIGHTINGS,
};
pub use sign::{LeadKey, SignError};

/// One sighting's part of a package.
pub struct LeadItem {
    pub sighting: Sighting,
    pub triage: TriageRow,
    pub custody: Vec<AuditEntry>,
    pub photo: Vec<u8>,
    pub manifest_json: Vec<u8>,
    /// `<id>.intake.json` as the intake wrote it, when the desk has it.
    pub intake_record: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum LeadError {
    #[error("report {0} failed verification; it can never be passed on as a lead")]
    NotVerified(String),
    #[error("nothing to package")]
    Empty,
    #[error("writing the package: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the package: {0}")]
    Io(#[from] std::io::Error),
}

/// The package as ZIP bytes; `by` is the reviewer who made it, `now_ms` when.
pub fn package(items: &[LeadItem], by: &str, now_ms: i64) -> Result<Vec<u8>, LeadError> {
    if items.is_empty() {
        return Err(LeadError::Empty);
    }
    if let Some(bad) = items.iter().find(|i| i.sighting.status != "verified") {
        return Err(LeadError::NotVerified(bad.sighting.id.clone()));
    }
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for item in items {
        let id = &item.sighting.id;
        files.push((format!("{id}/photo.jpg"), item.photo.clone()));
        files.push((format!("{id}/manifest.json"), item.manifest_json.clone()));
        if let Some(record) = &item.intake_record {
            files.push((format!("{id}/intake-record.json"), record.clone()));
        }
        let custody = serde_json::to_vec_pretty(&json!({
            "triage": item.triage,
            "custody": item.custody,
        }))
        .map_err(std::io::Error::other)?;
        files.push((format!("{id}/custody.json"), custody));
    }
    files.push(("index.html".into(), page(items, by, now_ms).into_bytes()));
    let sums: String = files
        .iter()
        .map(|(name, bytes)| {
            let sha = ring::digest::digest(&ring::digest::SHA256, bytes);
            format!("{}  {name}\n", hex::encode(sha.as_ref()))
        })
        .collect();
    files.push(("SHA256SUMS".into(), sums.into_bytes()));

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for (name, bytes) in &files {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// HTML text: every character that could open markup is escaped.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn utc(ms: i64) -> String {
    sighting_core::millis::to_time(ms)
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// Both languages on one line: a printed page serves either reader.
fn both(en: &str, zh: &str) -> String {
    format!("{} / {}", esc(en), esc(zh))
}

fn page(items: &[LeadItem], by: &str, now_ms: i64) -> String {
    let mut html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self'; style-src 'unsafe-inline'\">\
         <title>Lead package / 线索包</title><style>{STYLE}</style></head><body>\
         <h1>{}</h1><p>{}: {} · {}: {}</p>",
        both("Lead package", "线索包"),
        both("Made by", "制作人"),
        esc(by),
        both("at", "时间"),
        esc(&utc(now_ms)),
    );
    for item in items {
        html.push_str(&section(item));
    }
    html.push_str(&format!(
        "<p>{}</p></body></html>",
        both(
            "Check the files: sha256sum -c SHA256SUMS. Do not approach or confront anyone shown.",
            "核对文件：sha256sum -c SHA256SUMS。请勿接近或与照片中的任何人对峙。"
        )
    ));
    html
}

const STYLE: &str = "body{font-family:sans-serif;max-width:60em;margin:auto}\
img{max-width:100%}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .4em;text-align:left}\
@media print{section{page-break-after:always}}";

fn section(item: &LeadItem) -> String {
    let s = &item.sighting;
    let id = esc(&s.id);
    let mut html = format!(
        "<section><h2>{} {id}</h2><img src=\"{id}/photo.jpg\" alt=\"{}\">",
        both("Sighting", "目击报告"),
        both("the reporter's photo", "报告人拍摄的照片"),
    );
    let row = |label: String, value: String| format!("<tr><th>{label}</th><td>{value}</td></tr>");
    html.push_str("<table>");
    html.push_str(&row(both("Where (WGS-84)", "位置（WGS-84）"), place(s)));
    html.push_str(&row(
        both("Taken (phone clock)", "拍摄时间（手机时钟）"),
        esc(s.captured_at.as_deref().unwrap_or("-")),
    ));
    html.push_str(&row(
        both("Taken (corrected)", "拍摄时间（校正后）"),
        esc(s.corrected_captured_at.as_deref().unwrap_or("-")),
    ));
    html.push_str(&row(
        both("Received by the organisation", "机构收到时间"),
        esc(s.received_at.as_deref().unwrap_or("-")),
    ));
    if s.clock_flagged {
        html.push_str(&row(
            both("Phone clock", "手机时钟"),
            both(
                &format!(
                    "off by {} s; trust the corrected time",
                    s.clock_skew_s.unwrap_or(0)
                ),
                &format!(
                    "偏差 {} 秒；请以校正后的时间为准",
                    s.clock_skew_s.unwrap_or(0)
                ),
            ),
        ));
    }
    html.push_str(&row(
        both("Reporter's note", "报告人留言"),
        esc(s.note.as_deref().unwrap_or("-")),
    ));
    html.push_str(&row(
        both("Decision", "处理结果"),
        esc(item.triage.triage.as_str()),
    ));
    html.push_str("</table>");
    html.push_str(&checks(item));
    html.push_str(&custody(&item.custody));
    html.push_str("</section>");
    html
}

fn place(s: &Sighting) -> String {
    let (Some(lat), Some(lon)) = (s.lat, s.lon) else {
        return both("no location", "无位置信息");
    };
    let mut text = format!("{lat:.6}, {lon:.6}");
    if let Some(accuracy) = s.accuracy_m {
        text.push_str(&format!(" ± {accuracy:.0} m"));
    }
    if gcj02::in_china(lat, lon) {
        let (g_lat, g_lon) = gcj02::from_wgs84(lat, lon);
        text.push_str(&format!(" (GCJ-02: {g_lat:.6}, {g_lon:.6})"));
    }
    format!(
        "{} · openstreetmap.org/?mlat={lat:.6}&amp;mlon={lon:.6}",
        esc(&text)
    )
}

/// The checks the desk made, in plain words.
fn checks(item: &LeadItem) -> String {
    let s = &item.sighting;
    let mut lines = vec![
        both(
            "Decrypted only at the organisation's review desk (sealed to its key on the phone).",
            "仅在机构审核台解密（在手机上即用机构密钥加密）。",
        ),
        both(
            &format!(
                "Manifest signature verified against the reporter's device key {}.",
                s.device_key.as_deref().unwrap_or("-")
            ),
            "报告清单的签名已通过报告设备密钥验证。",
        ),
        both(
            "The photo matches the SHA-256 in the signed manifest (not swapped or altered).",
            "照片与已签名清单中的 SHA-256 一致（未被替换或修改）。",
        ),
        both(
            "The intake server checked the device's envelope signature before accepting the upload.",
            "接收服务器在接受上传前已核验设备的信封签名。",
        ),
    ];
    lines.push(receipt(s));
    let items: String = lines.iter().map(|l| format!("<li>{l}</li>")).collect();
    format!("<h3>{}</h3><ul>{items}</ul>", both("Checks", "核验"))
}

/// The intake receipt as the desk checked it against the organisation's intake key when it
/// opened the report: never vouched for on the strength of the key the receipt names.
fn receipt(s: &Sighting) -> String {
    let received = s.received_at.as_deref().unwrap_or("-");
    match s.receipt.map(|check| (check, check.warning())) {
        Some((ReceiptCheck::Verified, _)) => both(
            &format!(
                "Receipt signed by the organisation's intake server (its key, server.pub) at {received}."
            ),
            &format!("接收收据由本机构接收服务器（其密钥 server.pub）签发，接收时间 {received}。"),
        ),
        Some((_, Some((en, zh)))) => both(
            &format!("{en} (It states {received}.)"),
            &format!("{zh}（收据所称接收时间：{received}。）"),
        ),
        _ => both("No intake record on this desk.", "本审核台没有接收记录。"),
    }
}

fn custody(entries: &[AuditEntry]) -> String {
    let rows: String = entries
        .iter()
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td></tr>",
                esc(&utc(e.at_ms)),
                esc(e.reviewer.as_deref().unwrap_or("desk")),
                esc(&e.action),
                esc(e.from.as_deref().unwrap_or("-")),
                esc(e.to.as_deref().unwrap_or("-")),
                esc(e.note.as_deref().unwrap_or("")),
            )
        })
        .collect();
    format!(
        "<h3>{}</h3><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table>",
        both("Chain of custody", "保管链"),
        both("When (UTC)", "时间（UTC）"),
        both("Who", "操作人"),
        both("What", "操作"),
        both("From → to", "变更"),
        both("Note", "备注"),
    )
}

//! The closing summary: one row per report this run made, what was sent and stripped, and
//! what the desk holds in all.

use std::path::Path;

use anyhow::Result;
use sighting_core::device::DraftSummary;
use sighting_core::seal::Envelope;
use sighting_desk as desk;
use uuid::Uuid;

/// One row of the closing summary.
pub struct Row {
    pub id: Uuid,
    pub name: String,
    pub camera_bytes: usize,
    pub sealed_bytes: u64,
    pub stripped: String,
    pub location: String,
}

impl Row {
    pub fn new(
        name: String,
        camera_bytes: usize,
        draft: &DraftSummary,
        envelope: &Envelope,
    ) -> Self {
        let stripped: Vec<String> = draft
            .removed
            .iter()
            .map(|r| format!("{} {} B", r.what, r.bytes))
            .collect();
        Row {
            id: draft.id,
            name,
            camera_bytes,
            sealed_bytes: envelope.ciphertext_bytes,
            stripped: stripped.join(", "),
            location: draft.location.to_string(),
        }
    }
}

/// `n` things, in the singular for one.
pub fn count(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// Every report this run made, one row each; then what the desk holds in all and its products.
pub fn print_summary(rows: &[Row], desk_dir: &Path) -> Result<()> {
    let all = desk::sightings::load(desk_dir)?;
    let cluster_of = |id: Uuid| {
        all.iter()
            .find(|s| s.id == id.to_string())
            .and_then(|s| s.same_photo.clone())
            .unwrap_or_else(|| "-".into())
    };
    println!("\nSummary of this run");
    println!(
        "   {:<8}  {:<30} {:>9} {:>9}  {:<7}  location; stripped",
        "report…", "photo", "camera B", "sealed B", "same photo"
    );
    for r in rows {
        println!(
            "   {:<8}  {:<30} {:>9} {:>9}  {:<7}  {}; {}",
            // The last 8 hex digits of the (random) id: enough to tell them apart here.
            &r.id.to_string()[28..],
            r.name,
            r.camera_bytes,
            r.sealed_bytes,
            cluster_of(r.id),
            r.location,
            r.stripped
        );
    }
    let clusters: std::collections::BTreeSet<_> =
        all.iter().filter_map(|s| s.same_photo.as_ref()).collect();
    // A run again in a kept directory finds the earlier runs' reports at the desk too.
    let earlier = match all.len().saturating_sub(rows.len()) {
        0 => String::new(),
        n => format!(" ({} above, {n} from earlier runs)", rows.len()),
    };
    println!(
        "   {} at the desk in all{earlier}, {} of the same photo sent more than once",
        count(all.len(), "report", "reports"),
        count(clusters.len(), "group", "groups")
    );
    println!(
        "   exports: {}",
        desk_dir.join("sightings.geojson").display()
    );
    println!("            {}", desk_dir.join("sightings.csv").display());
    println!("   review page (open it in a browser, it works offline):");
    println!("            {}", desk_dir.join("index.html").display());
    Ok(())
}

//! What the load run measures with: percentiles, the processes' CPU time and peak RSS from
//! `/proc`, random payloads, and the sink (the upper bound).

use ring::rand::{SecureRandom, SystemRandom};

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

pub fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    SystemRandom::new().fill(&mut v).expect("random");
    v
}
/// The upper bound: an HTTP server that accepts each PATCH body and throws it away.
pub async fn sink() -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/sink",
        axum::routing::patch(|_: axum::body::Bytes| async { axum::http::StatusCode::NO_CONTENT }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

pub fn pct(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// CPU seconds (user + system) used so far by the processes `roots` and their descendants (a
/// PostgreSQL server is a postmaster and a process per connection), from `/proc/PID/stat`;
/// processes that already exited are not counted.
pub fn cpu_seconds_of_trees(roots: &[u32]) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    // pid → (parent, ticks)
    let processes: std::collections::HashMap<u32, (u32, u64)> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The fields after the command name, which is in parentheses and may hold spaces.
            let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let parent = f.get(1)?.parse().ok()?;
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some((pid, (parent, ticks)))
        })
        .collect();
    let under_a_root = |mut pid: u32| loop {
        if roots.contains(&pid) {
            return true;
        }
        match processes.get(&pid) {
            Some(&(parent, _)) if parent > 1 => pid = parent,
            _ => return false,
        }
    };
    let ticks: u64 = processes
        .iter()
        .filter(|(pid, _)| under_a_root(**pid))
        .map(|(_, (_, ticks))| ticks)
        .sum();
    // USER_HZ is 100 on every Linux this runs on.
    ticks as f64 / 100.0
}

/// The process's peak resident set (Linux `VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")
                    .map(|v| v.trim().trim_end_matches(" kB").parse().ok())
            })?
        })
        .unwrap_or(0)
}

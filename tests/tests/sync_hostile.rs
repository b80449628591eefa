//! The phone against a hostile (compromised or impersonated) intake server: every answer of
//! the protocol malformed, huge, negative, missing, or a redirect. Sync returns, nothing is
//! lost, no request leaves the configured origin, and the next sync against a good server
//! delivers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use sighting_core::queue::State;
use sighting_intake::IntakeConfig;
use time::OffsetDateTime;

use support::{phone, server_key, submit, syncer, Server, NOW};
use test_support as support;

/// One way of lying: given a request, the answer.
type Lie = fn(&Method, &str, &HeaderMap, &str) -> Response;

fn answer(status: u16, headers: &[(&str, String)], body: impl Into<String>) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap(),
        body.into().into_bytes(),
    )
        .into_response();
    for (name, value) in headers {
        r.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    r
}

fn tus_ok(method: &Method, lie: Response) -> Response {
    // Honest discovery, then `lie` for everything after it.
    if method == Method::OPTIONS {
        return answer(
            204,
            &[
                ("tus-version", "1.0.0".into()),
                ("tus-extension", "creation,creation-with-upload".into()),
            ],
            "",
        );
    }
    lie
}

const LIES: &[(&str, Lie)] = &[
    ("a Retry-After past the end of time", |_, _, _, _| {
        answer(503, &[("retry-after", u64::MAX.to_string())], "")
    }),
    (
        "a Retry-After past the calendar's end (31,700 years)",
        |_, _, _, _| answer(503, &[("retry-after", "1000000000000".into())], ""),
    ),
    ("a Retry-After of a century", |_, _, _, _| {
        answer(
            429,
            &[("retry-after", (100 * 365 * 86400u64).to_string())],
            "",
        )
    }),
    ("negative and garbage Retry-After", |m, _, _, _| {
        let value = if m == Method::OPTIONS { "-5" } else { "soon" };
        answer(503, &[("retry-after", value.into())], "{\"detail\": 5}")
    }),
    ("a redirect to plain http elsewhere", |_, p, _, base| {
        answer(307, &[("location", format!("{base}/elsewhere{p}"))], "")
    }),
    ("an upload URL on another host", |m, _, _, _| {
        tus_ok(
            m,
            answer(
                201,
                &[
                    ("location", "http://attacker.invalid/v1/uploads/x".into()),
                    ("upload-offset", "0".into()),
                ],
                "",
            ),
        )
    }),
    ("an upload URL on another port", |m, _, _, base| {
        let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
        tus_ok(
            m,
            answer(
                201,
                &[("location", format!("//127.0.0.1:{}/v1/uploads/x", port + 1))],
                "",
            ),
        )
    }),
    (
        "offsets past the end, negative and missing",
        |m, _, _, _| {
            let lie = match *m {
                Method::POST => answer(
                    201,
                    &[
                        ("location", "/v1/uploads/x".into()),
                        ("upload-offset", "-1".into()),
                    ],
                    "",
                ),
                Method::HEAD => answer(200, &[("upload-offset", u64::MAX.to_string())], ""),
                Method::PATCH => answer(204, &[("upload-offset", "99999999999999".into())], ""),
                _ => answer(200, &[], ""),
            };
            tus_ok(m, lie)
        },
    ),
    ("a receipt of a megabyte, then garbage", |m, _, h, _| {
        let lie = match *m {
            Method::POST => {
                let len = h["upload-length"].to_str().unwrap().to_string();
                answer(
                    201,
                    &[("location", "/v1/uploads/x".into()), ("upload-offset", len)],
                    "",
                )
            }
            Method::GET => answer(200, &[], "a".repeat(1 << 20)),
            _ => answer(204, &[], ""),
        };
        tus_ok(m, lie)
    }),
    ("a receipt that is not one", |m, _, h, _| {
        let lie = match *m {
            Method::POST => {
                let len = h["upload-length"].to_str().unwrap().to_string();
                answer(
                    200,
                    &[("location", "/v1/uploads/x".into()), ("upload-offset", len)],
                    "",
                )
            }
            Method::GET => answer(200, &[], "{\"report_id\": \"not a uuid\", \"sig\": []}"),
            _ => answer(204, &[], ""),
        };
        tus_ok(m, lie)
    }),
    ("empty answers with every status", |m, _, _, _| match *m {
        Method::OPTIONS => answer(200, &[], ""),
        Method::POST => answer(201, &[], ""),
        _ => answer(299, &[], ""),
    }),
];

/// A server that answers every request with `lie`, counting requests that reached it.
async fn liar(lie: Lie, hits: Arc<AtomicUsize>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback({
        let base = base.clone();
        move |method: Method, uri: axum::http::Uri, headers: HeaderMap| {
            let (base, hits) = (base.clone(), hits.clone());
            async move {
                if uri.path().starts_with("/elsewhere") {
                    // A followed redirect: counted apart, so the test sees it.
                    hits.fetch_add(1_000_000, Ordering::Relaxed);
                }
                hits.fetch_add(1, Ordering::Relaxed);
                lie(&method, uri.path(), &headers, &base)
            }
        }
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_server_cannot_break_sync_lose_a_report_or_park_it_for_long() {
    let tmp = tempfile::tempdir().unwrap();
    let org = sighting_desk::keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    let report = submit(&device, "Canon_40D.jpg").await;
    let (pkcs8, good_key) = server_key();

    for (what, lie) in LIES {
        let hits = Arc::new(AtomicUsize::new(0));
        let (base, task) = liar(*lie, hits.clone()).await;
        let budget = sighting_core::sync::SyncBudget {
            max_wall: Duration::from_secs(10),
            ..NOW
        };
        let summary = syncer(&base, good_key, 256 << 10)
            .sync(&device, budget)
            .await
            .unwrap_or_else(|e| panic!("{what}: sync failed with {e}"));
        assert!(summary.delivered.is_empty(), "{what}: {summary:?}");
        assert!(summary.unconfirmed.is_empty(), "{what}: {summary:?}");
        let hits = hits.load(Ordering::Relaxed);
        assert!(hits > 0, "{what}: never asked");
        assert!(hits < 1_000_000, "{what}: a redirect was followed");
        let rows = device.call(|d| d.reports()).await.unwrap();
        let row = rows.iter().find(|r| r.id == report).expect("still queued");
        assert!(
            matches!(
                row.state,
                State::Sealed | State::Uploading | State::Rejected
            ),
            "{what}: {row:?}"
        );
        if let Some(next) = row.next_attempt_at {
            assert!(
                next <= OffsetDateTime::now_utc()
                    + time::Duration::hours(1)
                    + time::Duration::minutes(1),
                "{what}: parked until {next}"
            );
        }
        task.abort();
        if row.state == State::Rejected {
            panic!("{what}: a lie made the phone give up on the report: {row:?}");
        }
    }

    // The real server: delivered, once.
    let server = Server::start(&tmp.path().join("data"), &pkcs8, IntakeConfig::default()).await;
    let summary = syncer(&server.base, good_key, 256 << 10)
        .sync(&device, NOW)
        .await
        .unwrap();
    assert_eq!(summary.delivered, vec![report], "{summary:?}");
    server.stop().await;
}

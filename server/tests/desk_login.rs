//! The review desk's login as an anonymous stranger meets it, on the real `sighting-server desk`
//! over loopback: bursts of parallel guesses (the desk's memory measured from /proc), one
//! reviewer's name guessed in parallel, many made-up names, and a page on another origin.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_sighting-server");
const PASSWORD: &str = "a long desk password";
/// Guesses a reviewer's name may cost in a window (`throttle.rs`).
const PER_NAME: usize = 5;

/// `sighting-server desk` in its own process, killed when dropped.
struct DeskProcess {
    child: Child,
    addr: String,
}

impl DeskProcess {
    /// A desk with the reviewers `ana` and `bo`, started with `args` besides its state.
    fn start(dir: &Path, args: &[&str]) -> Self {
        let keys = dir.join("org");
        let made = Command::new(BIN)
            .args(["keygen", "--out"])
            .arg(&keys)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(made.success());
        let state = dir.join("desk");
        for name in ["ana", "bo"] {
            let mut add = Command::new(BIN)
                .args(["desk-user", "add", "--name", name, "--state"])
                .arg(&state)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            std::io::Write::write_all(
                add.stdin.as_mut().unwrap(),
                format!("{PASSWORD}\n").as_bytes(),
            )
            .unwrap();
            assert!(add.wait().unwrap().success());
        }
        let data = dir.join("intake");
        std::fs::create_dir_all(data.join("reports")).unwrap();
        let mut child = Command::new(BIN)
            .args(["desk", "--listen", "127.0.0.1:0", "--poll-secs", "3600"])
            .arg("--identity")
            .arg(keys.join(sighting_desk::keygen::IDENTITY_FILE))
            .arg("--state")
            .arg(&state)
            .arg("--data")
            .arg(&data)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split("review desk on http://")
                    .nth(1)
                    .map(|rest| rest.trim().to_string())
            })
            .expect("the desk says where it listens");
        // The desk's later log lines go nowhere rather than fill a pipe no one reads.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, addr }
    }

    /// The most memory the desk has held (VmHWM), in bytes.
    fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kib * 1024
    }
}

impl Drop for DeskProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer: status, `Retry-After`, and the JSON body (`Null` when there is none).
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    headers: String,
    body: Value,
}

impl Answer {
    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

/// A raw HTTP/1.1 request (the test picks its own `Host` and `Origin`).
fn request(method: &str, path: &str, host: &str, extra: &[(&str, &str)], body: &str) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n");
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str("content-type: application/json\r\n");
    }
    format!("{head}content-length: {}\r\n\r\n{body}", body.len())
}

fn login_request(addr: &str, name: &str, password: &str) -> String {
    let body = json!({ "name": name, "password": password }).to_string();
    request("POST", "/api/login", addr, &[], &body)
}

/// Sends every request at once: each is written but for its last byte on its own connection,
/// then every last byte goes out together, so the desk meets them as one burst.
async fn burst(addr: &str, requests: Vec<String>) -> Vec<Answer> {
    let mut streams = Vec::new();
    for request in &requests {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(&request.as_bytes()[..request.len() - 1])
            .await
            .unwrap();
        streams.push(stream);
    }
    for (stream, request) in streams.iter_mut().zip(&requests) {
        stream
            .write_all(&request.as_bytes()[request.len() - 1..])
            .await
            .unwrap();
    }
    let reading = streams.into_iter().map(|mut stream| {
        tokio::spawn(async move {
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).await.unwrap();
            parse(&raw)
        })
    });
    let mut answers = Vec::new();
    for answer in reading.collect::<Vec<_>>() {
        answers.push(answer.await.unwrap());
    }
    answers
}

async fn send(addr: &str, request: String) -> Answer {
    burst(addr, vec![request]).await.pop().unwrap()
}

fn parse(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    Answer {
        status,
        retry_after: header("retry-after").and_then(|v| v.parse().ok()),
        headers: head.to_string(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

fn count(answers: &[Answer], status: u16) -> usize {
    answers.iter().filter(|a| a.status == status).count()
}

/// 64 parallel wrong-password logins took the desk from 10 MB to a 1 GB peak: every one ran
/// argon2id (19 MiB) at once. Now a few are checked and the rest are told at once to come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_logins_is_checked_a_few_at_a_time_in_little_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let desk = DeskProcess::start(tmp.path(), &[]);
    let guesses = (0..64)
        .map(|i| login_request(&desk.addr, &format!("guess{i}"), "a wrong password"))
        .collect();
    let answers = burst(&desk.addr, guesses).await;
    let peak = desk.peak_rss();
    assert!(peak <= 256 << 20, "peak RSS {} MiB", peak >> 20);
    let checked = count(&answers, 401);
    let busy: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(checked + busy.len(), 64, "{answers:?}");
    assert!((1..=5).contains(&checked), "{checked} passwords checked");
    for answer in &busy {
        assert_eq!(answer.error(), "busy", "{answer:?}");
        assert!(answer.retry_after.is_some_and(|s| s >= 1), "{answer:?}");
    }
    eprintln!("{checked} checked, peak RSS {} MiB", peak >> 20);
}

/// All 64 of 64 parallel guesses for one reviewer were checked: the failure was counted after
/// the hash. Guessers who are told the desk is busy come back until they get an answer; still
/// no more than five guesses are checked, and the name is then throttled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_for_one_reviewer_are_counted_before_they_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let desk = DeskProcess::start(tmp.path(), &[]);
    let mut answers = Vec::new();
    let mut waiting = 64;
    while waiting > 0 {
        let guesses = (0..waiting)
            .map(|i| login_request(&desk.addr, "ana", &format!("guess {i}")))
            .collect();
        let (busy, done): (Vec<_>, Vec<_>) = burst(&desk.addr, guesses)
            .await
            .into_iter()
            .partition(|a| a.error() == "busy");
        answers.extend(done);
        waiting = busy.len();
    }
    let checked = count(&answers, 401);
    assert!(
        (1..=PER_NAME).contains(&checked),
        "{checked} guesses checked"
    );
    assert_eq!(count(&answers, 429), 64 - checked);
    assert!(answers
        .iter()
        .filter(|a| a.status == 429)
        .all(|a| a.error() == "throttled" && a.retry_after.is_some_and(|s| s > 60)));
    let right = send(&desk.addr, login_request(&desk.addr, "ana", PASSWORD)).await;
    assert_eq!(right.status, 429, "the name stays throttled: {right:?}");
    let other = send(&desk.addr, login_request(&desk.addr, "bo", PASSWORD)).await;
    assert_eq!(other.status, 200, "{other:?}");
}

/// Fifty failures on made-up names locked out every reviewer for 15 minutes. A reviewer whose
/// name no one guessed still logs in with the right passphrase; a guessed name stays throttled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_guessing_made_up_names_does_not_lock_the_reviewers_out() {
    let tmp = tempfile::tempdir().unwrap();
    let desk = DeskProcess::start(tmp.path(), &[]);
    for i in 0..50 {
        let guess = send(
            &desk.addr,
            login_request(&desk.addr, &format!("made-up-{i}"), "x"),
        )
        .await;
        assert_eq!(guess.status, 401, "{guess:?}");
    }
    let ana = send(&desk.addr, login_request(&desk.addr, "ana", PASSWORD)).await;
    assert_eq!(ana.status, 200, "{ana:?}");
    assert!(ana
        .headers
        .to_ascii_lowercase()
        .contains("set-cookie: sighting_session="));
    // The guesser pays: a name now gets two tries in the window, not five.
    let tries: Vec<u16> = {
        let mut tries = Vec::new();
        for _ in 0..3 {
            tries.push(
                send(&desk.addr, login_request(&desk.addr, "bo", "a guess"))
                    .await
                    .status,
            );
        }
        tries
    };
    assert_eq!(tries, [401, 401, 429]);
}

/// The session cookie a login answer sets.
fn session_cookie(answer: &Answer) -> String {
    answer
        .headers
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l[11..].trim())
        })
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no cookie in {answer:?}"))
        .to_string()
}

/// DNS rebinding: a page on evil.example points its name at 127.0.0.1 and reads the desk as its
/// own. The desk answers only to its own names; a change from another site's page is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_another_name_or_origin_gets_nothing_from_the_desk() {
    let tmp = tempfile::tempdir().unwrap();
    let desk = DeskProcess::start(tmp.path(), &["--allowed-host", "desk.example.org"]);
    let addr = desk.addr.as_str();
    let port = addr.rsplit(':').next().unwrap();
    let rebound = format!("evil.example:{port}");

    let own = send(addr, login_request(addr, "ana", PASSWORD)).await;
    assert_eq!(own.status, 200, "{own:?}");
    let cookie = session_cookie(&own);
    let cookie = [("cookie", cookie.as_str())];
    for host in [addr, &format!("localhost:{port}"), "desk.example.org"] {
        let page = send(addr, request("GET", "/", host, &[], "")).await;
        assert_eq!(page.status, 200, "{host}: {page:?}");
        let me = send(addr, request("GET", "/api/me", host, &cookie, "")).await;
        assert_eq!(me.body["reviewer"]["name"], "ana", "{host}: {me:?}");
    }

    for path in ["/", "/static/desk.js", "/api/me", "/api/sightings"] {
        let stolen = send(addr, request("GET", path, &rebound, &cookie, "")).await;
        assert_eq!(stolen.status, 421, "{path}: {stolen:?}");
        assert_eq!(
            stolen.body["error"], "host",
            "{path}: no data, only the refusal"
        );
    }
    let login = send(addr, login_request(&rebound, "ana", PASSWORD)).await;
    assert_eq!(login.status, 421, "{login:?}");
    assert!(!login.headers.to_ascii_lowercase().contains("set-cookie"));

    // A login from another site's page (the session would be the stranger's choice).
    let body = json!({ "name": "bo", "password": PASSWORD }).to_string();
    let evil = [("origin", "http://evil.example")];
    let forged = send(addr, request("POST", "/api/login", addr, &evil, &body)).await;
    assert_eq!(forged.status, 403, "{forged:?}");
    assert!(!forged.headers.to_ascii_lowercase().contains("set-cookie"));
    let page_origin = format!("http://{addr}");
    let from_page = [("origin", page_origin.as_str())];
    let from_page = send(addr, request("POST", "/api/login", addr, &from_page, &body)).await;
    assert_eq!(from_page.status, 200, "{from_page:?}");
}

/// The tile server's credit is the operator's text, shown as text: it reaches the page as JSON
/// data, and the page's script puts it on the map only through `textContent`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tile_credit_is_shown_as_text() {
    let tmp = tempfile::tempdir().unwrap();
    let credit = "<img src=x onerror=\"document.body.dataset.injected=1\"> © tiles";
    let desk = DeskProcess::start(
        tmp.path(),
        &[
            "--tiles",
            "http://127.0.0.1:9/{z}/{x}/{y}.png",
            "--tiles-attribution",
            credit,
        ],
    );
    let addr = desk.addr.as_str();
    let login = send(addr, login_request(addr, "ana", PASSWORD)).await;
    let cookie = session_cookie(&login);
    let config = send(
        addr,
        request("GET", "/api/config", addr, &[("cookie", &cookie)], ""),
    )
    .await;
    assert_eq!(config.body["tiles"]["attribution"], credit, "{config:?}");
    let script = {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(request("GET", "/static/map.js", addr, &[], "").as_bytes())
            .await
            .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        raw
    };
    let uses: Vec<&str> = script
        .lines()
        .filter(|l| l.contains("tiles.attribution"))
        .map(str::trim)
        .collect();
    assert!(!uses.is_empty(), "the script shows the credit");
    assert!(
        uses.iter()
            .all(|l| l.contains(".textContent = config.tiles.attribution")),
        "only as text: {uses:?}"
    );
}

/// `desk-user …` on the state of a running desk, as its operator would type it.
fn desk_user(dir: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .arg("desk-user")
        .args(args)
        .arg("--state")
        .arg(dir.join("desk"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// Five wrong passphrases locked a reviewer out for 15 minutes with no way back; now the
/// operator's `desk-user unlock` reaches the running desk at once. `disable` ends a live
/// session at its next request, `reset` replaces the passphrase, `list` shows roles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_unlocks_disables_and_resets_people_while_the_desk_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let desk = DeskProcess::start(tmp.path(), &[]);
    let addr = desk.addr.as_str();
    for _ in 0..PER_NAME {
        let wrong = send(addr, login_request(addr, "ana", "not her passphrase")).await;
        assert_eq!(wrong.status, 401);
    }
    let locked = send(addr, login_request(addr, "ana", PASSWORD)).await;
    assert_eq!(locked.status, 429, "{locked:?}");

    let (ok, out, err) = desk_user(tmp.path(), &["unlock", "--name", "ana"], "");
    assert!(ok && out.contains("unlocked ana"), "{out}{err}");
    let back = send(addr, login_request(addr, "ana", PASSWORD)).await;
    assert_eq!(back.status, 200, "{back:?}");
    let cookie = session_cookie(&back);
    let me = || request("GET", "/api/me", addr, &[("cookie", cookie.as_str())], "");
    assert_eq!(send(addr, me()).await.status, 200);

    let (ok, out, _) = desk_user(tmp.path(), &["disable", "--name", "ana"], "");
    assert!(ok && out.contains("disabled ana"), "{out}");
    assert_eq!(send(addr, me()).await.status, 401, "her open session ended");
    assert_eq!(
        send(addr, login_request(addr, "ana", PASSWORD))
            .await
            .status,
        401
    );
    let (_, listed, _) = desk_user(tmp.path(), &["list"], "");
    assert_eq!(listed, "ana\treviewer\tdisabled\nbo\treviewer\tactive\n");
    assert!(desk_user(tmp.path(), &["enable", "--name", "ana"], "").0);

    let (ok, _, err) = desk_user(tmp.path(), &["reset", "--name", "ana"], "short\n");
    assert!(!ok && err.contains("12 to 1024 bytes"), "{err}");
    let (ok, out, _) = desk_user(
        tmp.path(),
        &["reset", "--name", "ana"],
        "her brand new passphrase\n",
    );
    assert!(ok && out.contains("new passphrase for ana"), "{out}");
    assert_eq!(
        send(addr, login_request(addr, "ana", PASSWORD))
            .await
            .status,
        401
    );
    let new = send(addr, login_request(addr, "ana", "her brand new passphrase")).await;
    assert_eq!(new.status, 200, "{new:?}");
    let (ok, _, err) = desk_user(tmp.path(), &["unlock", "--name", "nobody"], "");
    assert!(!ok && err.contains("no one is called \"nobody\""), "{err}");
}

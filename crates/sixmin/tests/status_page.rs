//! The status page as a browser renders it: Debian's headless Chromium loads the page of a
//! held `sixmin demo`, in English and in Hebrew, with and without JavaScript, and every
//! per-topic number it shows must agree with `/metrics` at the same frozen moment. It
//! also saves a screenshot of each language in `target/test-output/` for people to look at.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::demo::Demo;
use common::http;
use common::metrics::parse_metrics;

/// How long one Chromium run may take before the test gives up on it.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(120);

/// The 8 bytes every PNG file starts with.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

// ---------------------------------------------------------------------------------------
// Chromium

/// The `chromium` executable on `PATH`, or a failure that says what to install.
fn chromium_executable() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|directory| directory.join("chromium"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`chromium` is not on PATH: this test needs Debian's `chromium` package \
                 (install it with `bash scripts/install-prerequisites`, or \
                 `apt-get install --no-install-recommends chromium`)"
            )
        })
}

/// A Chromium process; it and its process group are killed if still running when dropped.
struct Browser {
    child: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // The browser leads its own process group (see `run_chromium`): end the
            // renderers with it.
            Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok();
            self.child.kill().ok();
        }
        self.child.wait().ok();
    }
}

/// What a finished Chromium run printed.
struct ChromiumOutput {
    stdout: String,
    stderr: String,
}

/// Reads a pipe to the end on another thread.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes).ok();
        bytes
    })
}

/// The last lines of Chromium's standard error, for failure messages.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Whether the browser runs the page's scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scripts {
    Enabled,
    /// Blocked by the profile's content setting, as a user who turned JavaScript off has
    /// it. (`--blink-settings=scriptEnabled=false` would also stop `--dump-dom`, which
    /// reads the DOM by evaluating script: it then prints nothing.)
    Disabled,
}

/// Runs headless Chromium, offline, with a fresh profile, on `url` with `extra` flags;
/// insists that it succeeds.
fn run_chromium(extra: &[&str], url: &str, scripts: Scripts) -> ChromiumOutput {
    let profile = tempfile::tempdir().unwrap();
    if scripts == Scripts::Disabled {
        let default = profile.path().join("Default");
        std::fs::create_dir_all(&default).unwrap();
        std::fs::write(
            default.join("Preferences"),
            r#"{"profile":{"default_content_setting_values":{"javascript":2}}}"#,
        )
        .unwrap();
    }
    let mut command = Command::new(chromium_executable());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut browser = Browser {
        child: command
            .spawn()
            .expect("Debian's `chromium` starts (`bash scripts/install-prerequisites`)"),
    };
    let stdout = drain(browser.child.stdout.take().unwrap());
    let stderr = drain(browser.child.stderr.take().unwrap());
    let deadline = Instant::now() + CHROMIUM_TIMEOUT;
    let status = loop {
        if let Some(status) = browser.child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            drop(browser);
            let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
            panic!(
                "chromium {extra:?} {url} ({scripts:?}) did not finish within \
                 {CHROMIUM_TIMEOUT:?}; its standard error ends with:\n{}",
                tail(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = ChromiumOutput {
        stdout: String::from_utf8_lossy(&stdout.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap()).into_owned(),
    };
    assert!(
        status.success(),
        "chromium {extra:?} {url} ({scripts:?}) failed ({status}); its standard error ends \
         with:\n{}",
        tail(&output.stderr)
    );
    output
}

/// The DOM of `url` after Chromium has loaded and rendered it.
fn dump_dom(url: &str, scripts: Scripts) -> String {
    let output = run_chromium(&["--dump-dom"], url, scripts);
    assert!(
        output.stdout.contains("</html>"),
        "chromium --dump-dom {url} ({scripts:?}) printed no document:\n{}\nstandard \
         error:\n{}",
        output.stdout,
        tail(&output.stderr)
    );
    output.stdout
}

/// Saves a 1400×1000 screenshot of `url` to `path` and checks that it is a real PNG.
fn screenshot(url: &str, path: &Path) {
    if path.exists() {
        std::fs::remove_file(path).unwrap();
    }
    let output = run_chromium(
        &[
            &format!("--screenshot={}", path.display()),
            "--window-size=1400,1000",
        ],
        url,
        Scripts::Enabled,
    );
    let bytes = std::fs::read(path).unwrap_or_else(|error| {
        panic!(
            "chromium wrote no screenshot to {} ({error}); its standard error ends with:\n{}",
            path.display(),
            tail(&output.stderr)
        )
    });
    assert!(
        bytes.starts_with(PNG_SIGNATURE),
        "{} is not a PNG",
        path.display()
    );
    assert!(
        bytes.len() > 10 * 1024,
        "{} has only {} bytes: a blank page?",
        path.display(),
        bytes.len()
    );
}

/// `target/test-output/`, created if missing.
fn test_output_dir() -> PathBuf {
    let target = option_env!("CARGO_TARGET_TMPDIR")
        .and_then(|tmp| Path::new(tmp).parent().map(Path::to_path_buf))
        .unwrap_or_else(|| common::repo_root().join("target"));
    let directory = target.join("test-output");
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

// ---------------------------------------------------------------------------------------
// The rendered DOM, read with plain string handling (Chromium serializes it regularly:
// attributes in double quotes, `&`, `<`, `>`, `"` escaped).

/// Decodes the entities Chromium's serializer writes.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The attributes of a start tag's inside (what lies between `<name` and `>`).
fn attributes(inside: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut rest = inside.trim_start();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            if let Some(quoted) = after.strip_prefix('"') {
                let close = quoted.find('"').unwrap_or(quoted.len());
                value = unescape(&quoted[..close]);
                rest = quoted.get(close + 1..).unwrap_or("");
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                value = unescape(&after[..end]);
                rest = &after[end..];
            }
        }
        if !name.is_empty() {
            found.insert(name, value);
        }
        rest = rest.trim_start();
    }
    found
}

/// The start tags `<name …>` in `html`, in order: (their attributes, the text after them).
fn start_tags<'h>(html: &'h str, name: &str) -> Vec<(BTreeMap<String, String>, &'h str)> {
    let opener = format!("<{name}");
    let mut tags = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&opener) {
        let after = &rest[start + opener.len()..];
        // `<td` must not match `<tdx`, nor `<tr` match `<track`.
        if !after.starts_with(|c: char| c == '>' || c.is_whitespace()) {
            rest = after;
            continue;
        }
        let close = after.find('>').unwrap();
        tags.push((attributes(&after[..close]), &after[close + 1..]));
        rest = &after[close + 1..];
    }
    tags
}

/// The text of `html` with every tag removed, entities decoded, whitespace collapsed.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for character in html.chars() {
        match character {
            '<' => in_tag = true,
            '>' => in_tag = false,
            other if !in_tag => text.push(other),
            _ => {}
        }
    }
    unescape(&text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The inside of the first `<name …>…</name>` whose start tag has `id="…"`.
fn element_by_id<'h>(html: &'h str, name: &str, id: &str) -> Option<&'h str> {
    let (_, after) = start_tags(html, name)
        .into_iter()
        .find(|(attributes, _)| attributes.get("id").map(String::as_str) == Some(id))?;
    let end = after.find(&format!("</{name}>"))?;
    Some(&after[..end])
}

/// One row of the topics table.
#[derive(Debug, Clone, PartialEq)]
struct TopicRow {
    tenant: String,
    topic: String,
    waiting: u64,
    over_limit: u64,
    at_risk: u64,
    /// `data-seconds` of the `oldest` cell.
    oldest_seconds: f64,
    /// The text of every `data-field` cell, by field.
    texts: BTreeMap<String, String>,
}

/// What the test reads from a rendered page.
#[derive(Debug)]
struct Page {
    /// Attributes of `<html>`.
    html: BTreeMap<String, String>,
    /// All the text of the body.
    text: String,
    /// The topics table, by (tenant, topic).
    topics: BTreeMap<(String, String), TopicRow>,
    /// The live-breach total in the breaches heading.
    live_breaches: u64,
    /// Rows of the recent-breaches table.
    breach_rows: usize,
}

fn parse_page(dom: &str, what: &str) -> Page {
    let html = start_tags(dom, "html")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{what}: no <html> in the DOM"))
        .0;
    let body = start_tags(dom, "body")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{what}: no <body> in the DOM"))
        .1;
    let table = element_by_id(dom, "table", "topics")
        .unwrap_or_else(|| panic!("{what}: no <table id=\"topics\"> in the DOM:\n{dom}"));
    let mut topics = BTreeMap::new();
    for row in table.split("</tr>") {
        let Some((row_attributes, cells)) = start_tags(row, "tr").into_iter().next() else {
            continue;
        };
        let (Some(tenant), Some(topic)) = (
            row_attributes.get("data-tenant"),
            row_attributes.get("data-topic"),
        ) else {
            continue; // the header row
        };
        let mut texts = BTreeMap::new();
        let mut oldest_seconds = None;
        for (cell_attributes, after) in start_tags(cells, "td") {
            let Some(field) = cell_attributes.get("data-field") else {
                continue;
            };
            let inside = &after[..after.find("</td>").unwrap_or(after.len())];
            texts.insert(field.clone(), text_of(inside));
            if field == "oldest" {
                oldest_seconds = cell_attributes
                    .get("data-seconds")
                    .map(|seconds| seconds.parse::<f64>().unwrap());
            }
        }
        let count = |field: &str| -> u64 {
            let text = texts
                .get(field)
                .unwrap_or_else(|| panic!("{what}: {tenant}/{topic} has no `{field}` cell"));
            text.parse()
                .unwrap_or_else(|_| panic!("{what}: {tenant}/{topic} `{field}` is `{text}`"))
        };
        let parsed = TopicRow {
            tenant: tenant.clone(),
            topic: topic.clone(),
            waiting: count("waiting"),
            over_limit: count("over_limit"),
            at_risk: count("at_risk"),
            oldest_seconds: oldest_seconds.unwrap_or_else(|| {
                panic!("{what}: {tenant}/{topic} has no `oldest` cell with `data-seconds`")
            }),
            texts,
        };
        let previous = topics.insert((tenant.clone(), topic.clone()), parsed);
        assert!(
            previous.is_none(),
            "{what}: {tenant}/{topic} is listed twice"
        );
    }
    let heading = start_tags(dom, "h2")
        .into_iter()
        .map(|(_, after)| text_of(&after[..after.find("</h2>").unwrap_or(after.len())]))
        .find(|heading| heading.contains('('))
        .unwrap_or_else(|| panic!("{what}: no breaches heading with a count"));
    let count = heading
        .split_once('(')
        .map(|(_, after)| {
            after
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .unwrap_or_default();
    let live_breaches = count
        .parse()
        .unwrap_or_else(|_| panic!("{what}: no count in the breaches heading `{heading}`"));
    let breach_rows = element_by_id(dom, "table", "breaches").map_or(0, |table| {
        start_tags(table, "tr").len().saturating_sub(1) // less the header row
    });
    Page {
        html,
        text: text_of(body),
        topics,
        live_breaches,
        breach_rows,
    }
}

// ---------------------------------------------------------------------------------------
// `/metrics`

/// What `/metrics` says about one tenant and topic.
#[derive(Debug, Clone, Default, PartialEq)]
struct TopicMetrics {
    /// `sixmin_calls_waiting`, summed over queues.
    waiting: f64,
    /// `sixmin_calls_waiting_over_limit`.
    over_limit: f64,
    /// `sixmin_calls_at_risk`.
    at_risk: f64,
    /// `sixmin_oldest_wait_seconds`, the largest over queues.
    oldest_seconds: f64,
}

/// What the page is compared with.
#[derive(Debug, Clone, PartialEq)]
struct MetricsView {
    topics: BTreeMap<(String, String), TopicMetrics>,
    /// `sixmin_live_breaches_total`, summed.
    live_breaches: f64,
    /// `sixmin_engine_clock_seconds`.
    engine_clock: f64,
}

impl MetricsView {
    /// A tenant and topic; a missing series means 0.
    fn topic(&self, tenant: &str, topic: &str) -> TopicMetrics {
        self.topics
            .get(&(tenant.to_owned(), topic.to_owned()))
            .cloned()
            .unwrap_or_default()
    }
}

fn scrape(address: &str) -> MetricsView {
    let (status, text) = http::get(address, "/metrics").unwrap();
    assert_eq!(status, 200, "/metrics: {text}");
    let mut view = MetricsView {
        topics: BTreeMap::new(),
        live_breaches: 0.0,
        engine_clock: f64::NAN,
    };
    for sample in parse_metrics(&text) {
        let key = || {
            (
                sample.labels.get("tenant").cloned().unwrap_or_default(),
                sample.labels.get("topic").cloned().unwrap_or_default(),
            )
        };
        match sample.name.as_str() {
            "sixmin_calls_waiting" => view.topics.entry(key()).or_default().waiting += sample.value,
            "sixmin_calls_waiting_over_limit" => {
                view.topics.entry(key()).or_default().over_limit += sample.value;
            }
            "sixmin_calls_at_risk" => view.topics.entry(key()).or_default().at_risk += sample.value,
            "sixmin_oldest_wait_seconds" => {
                let topic = view.topics.entry(key()).or_default();
                topic.oldest_seconds = topic.oldest_seconds.max(sample.value);
            }
            "sixmin_live_breaches_total" => view.live_breaches += sample.value,
            "sixmin_engine_clock_seconds" => view.engine_clock = sample.value,
            _ => {}
        }
    }
    view
}

// ---------------------------------------------------------------------------------------
// The comparison

/// Every topics row agrees with `/metrics`, and no waiting caller of `/metrics` is missing
/// from the page.
fn assert_page_matches_metrics(page: &Page, metrics: &MetricsView, what: &str) {
    assert!(!page.topics.is_empty(), "{what}: the topics table is empty");
    for ((tenant, topic), row) in &page.topics {
        let expected = metrics.topic(tenant, topic);
        let pairs = [
            ("waiting", row.waiting, expected.waiting),
            ("over_limit", row.over_limit, expected.over_limit),
            ("at_risk", row.at_risk, expected.at_risk),
        ];
        for (field, shown, measured) in pairs {
            assert_eq!(
                shown as f64, measured,
                "{what}: {tenant}/{topic} shows {field} = {shown}, /metrics says {measured}"
            );
        }
        assert!(
            (row.oldest_seconds - expected.oldest_seconds).abs() <= 0.001,
            "{what}: {tenant}/{topic} shows the oldest wait as {} s, /metrics says {} s",
            row.oldest_seconds,
            expected.oldest_seconds
        );
        assert!(
            row.at_risk >= row.over_limit && row.waiting >= row.at_risk,
            "{what}: {tenant}/{topic}: over the limit ≤ at risk ≤ waiting, got {row:?}"
        );
    }
    for ((tenant, topic), measured) in &metrics.topics {
        if measured.waiting > 0.0 {
            assert!(
                page.topics.contains_key(&(tenant.clone(), topic.clone())),
                "{what}: /metrics has {} callers waiting for {tenant}/{topic}, the page has no \
                 row for it",
                measured.waiting
            );
        }
    }
    assert_eq!(
        page.live_breaches as f64, metrics.live_breaches,
        "{what}: the breaches heading says {}, sum(sixmin_live_breaches_total) is {}",
        page.live_breaches, metrics.live_breaches
    );
    let listed = usize::try_from(page.live_breaches)
        .unwrap()
        .min(sixmin_server::status::RECENT_BREACHES);
    assert_eq!(
        page.breach_rows, listed,
        "{what}: the page lists the latest {} live breaches of {}",
        page.breach_rows, page.live_breaches
    );
}

/// The numbers a rendering of the page shows, row by row (tenant, topic, the three counts
/// and the oldest wait), to compare renderings with one another.
fn numbers(page: &Page) -> Vec<(String, String, u64, u64, u64, String)> {
    page.topics
        .values()
        .map(|row| {
            (
                row.tenant.clone(),
                row.topic.clone(),
                row.waiting,
                row.over_limit,
                row.at_risk,
                format!("{:.3}", row.oldest_seconds),
            )
        })
        .collect()
}

#[test]
fn status_page_in_a_browser_agrees_with_metrics_in_both_languages_and_without_javascript() {
    // Fail first, and clearly, if the browser is missing.
    chromium_executable();
    // 600x real time from 10:50 for 20 s: the overload episode at 11:00 fills the queues
    // and raises live breaches; then the clock freezes and the numbers hold still.
    let demo = Demo::overload("2026-10-04", "200", &["--duration", "20", "--hold"]);
    assert!(
        demo.wait_for_line("clock frozen", Duration::from_secs(180)),
        "the demo did not report its frozen clock"
    );
    // The last refresh publishes before the line; give the server a moment all the same.
    std::thread::sleep(Duration::from_secs(1));
    let metrics = scrape(&demo.address);
    let base = format!("http://{}/", demo.address);
    let hebrew_url = format!("{base}?lang=he");

    let english = parse_page(&dump_dom(&base, Scripts::Enabled), "English page");
    assert_eq!(english.html.get("lang").map(String::as_str), Some("en"));
    assert_eq!(english.html.get("dir").map(String::as_str), Some("ltr"));
    assert!(english.text.contains("Waiting now"), "{}", english.text);
    assert!(english.text.contains("since start"), "{}", english.text);
    assert_page_matches_metrics(&english, &metrics, "English page");
    assert!(
        english.topics.values().any(|row| row.waiting > 0),
        "the overload leaves callers waiting at the frozen moment: {:?}",
        numbers(&english)
    );
    assert!(
        english.live_breaches > 0 && english.breach_rows > 0,
        "the overload raises live breaches"
    );

    let hebrew = parse_page(&dump_dom(&hebrew_url, Scripts::Enabled), "Hebrew page");
    assert_eq!(hebrew.html.get("lang").map(String::as_str), Some("he"));
    assert_eq!(hebrew.html.get("dir").map(String::as_str), Some("rtl"));
    for label in [
        "ממתינים עכשיו",
        "מעבר למגבלה",
        "חריגות בזמן אמת",
        "מאז ההפעלה",
    ] {
        assert!(
            hebrew.text.contains(label),
            "the Hebrew page has no `{label}`: {}",
            hebrew.text
        );
    }
    assert!(!hebrew.text.contains("Waiting now"), "{}", hebrew.text);
    assert_page_matches_metrics(&hebrew, &metrics, "Hebrew page");
    assert_eq!(numbers(&hebrew), numbers(&english));
    assert_eq!(hebrew.live_breaches, english.live_breaches);

    // No scripts: the page is rendered on the server and must not need JavaScript. A
    // probe page first shows that scripts really are off in that browser.
    let probe = "data:text/html,<p id=probe>off</p>\
                 <script>document.getElementById('probe').textContent='on'</script>";
    assert!(
        dump_dom(probe, Scripts::Enabled).contains(">on</p>"),
        "the probe's script runs in the normal browser"
    );
    assert!(
        dump_dom(probe, Scripts::Disabled).contains(">off</p>"),
        "the probe's script is blocked in the browser without JavaScript"
    );
    let no_script = Scripts::Disabled;
    let english_plain = parse_page(&dump_dom(&base, no_script), "English page, no JS");
    assert_page_matches_metrics(&english_plain, &metrics, "English page, no JS");
    assert_eq!(numbers(&english_plain), numbers(&english));
    let hebrew_plain = parse_page(&dump_dom(&hebrew_url, no_script), "Hebrew page, no JS");
    assert_eq!(
        hebrew_plain.html.get("dir").map(String::as_str),
        Some("rtl")
    );
    assert_page_matches_metrics(&hebrew_plain, &metrics, "Hebrew page, no JS");
    assert_eq!(numbers(&hebrew_plain), numbers(&english));

    let output = test_output_dir();
    let screenshots = [
        (base.as_str(), output.join("status-en.png")),
        (hebrew_url.as_str(), output.join("status-he.png")),
    ];
    for (url, path) in &screenshots {
        screenshot(url, path);
    }
    println!(
        "status page: {} topic rows, {} callers waiting, {} live breaches ({} listed); \
         screenshots: {}, {}",
        english.topics.len(),
        english.topics.values().map(|row| row.waiting).sum::<u64>(),
        english.live_breaches,
        english.breach_rows,
        screenshots[0].1.display(),
        screenshots[1].1.display()
    );

    // The clock stayed frozen throughout: what the pages were compared with still holds.
    assert_eq!(
        scrape(&demo.address),
        metrics,
        "/metrics changed while the demo held"
    );
}

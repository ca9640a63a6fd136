//! The status page: what a compliance officer or an ops lead sees at a glance, per topic.
//!
//! Rendered on the server as one self-contained HTML page (inline CSS, no scripts, nothing
//! loaded from elsewhere) that refreshes itself, in English or Hebrew (right to left).

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use sixmin_core::{CalendarTallies, Engine, LiveBreach, WaitingGroup};

/// Appends formatted text to the page (writing to a `String` cannot fail).
macro_rules! put {
    ($html:expr, $($arg:tt)*) => { $html.push_str(&format!($($arg)*)) };
}

/// Like [`put!`], then a newline.
macro_rules! putln {
    ($html:expr, $($arg:tt)*) => {{ $html.push_str(&format!($($arg)*)); $html.push('\n'); }};
}

/// How many recent live breaches the page lists.
pub const RECENT_BREACHES: usize = 20;

/// One tenant and topic now.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TopicStatus {
    /// Tenant.
    pub tenant: String,
    /// Topic.
    pub topic: String,
    /// The topic's limit, seconds.
    pub limit_seconds: f64,
    /// Callers waiting now.
    pub waiting: u64,
    /// Of those, past the limit now.
    pub over_limit: u64,
    /// Of those, at 80 % of the limit or more.
    pub at_risk: u64,
    /// The longest current wait, seconds.
    pub oldest_wait_seconds: f64,
    /// Today's compliance ratio (verdicts plus pending calls), if any call was judged.
    pub compliance_today: Option<f64>,
    /// This month's compliance ratio.
    pub compliance_month: Option<f64>,
    /// Today's 95th-percentile answer wait, seconds.
    pub p95_today_seconds: Option<f64>,
    /// Calls offered today.
    pub offered_today: u64,
}

/// A live breach as the page lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BreachRow {
    /// When the limit passed, local time of the pack's zone (`YYYY-MM-DD HH:MM:SS`).
    pub due_local: String,
    /// Rule id.
    pub rule: String,
    /// Tenant.
    pub tenant: String,
    /// Topic.
    pub topic: String,
    /// Queue, if known.
    pub queue: Option<String>,
    /// Call id.
    pub call_id: String,
}

/// Everything the page shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusView {
    /// The engine clock, local time of the pack's zone (`YYYY-MM-DD HH:MM:SS`).
    pub as_of: String,
    /// The pack's time zone.
    pub timezone: String,
    /// The rule pack, `name@version`.
    pub rule_pack: String,
    /// The pack's compliance target.
    pub target_ratio: f64,
    /// Per tenant and topic.
    pub topics: Vec<TopicStatus>,
    /// The latest live breaches, newest first.
    pub recent_breaches: Vec<BreachRow>,
    /// Live breaches since start.
    pub live_breaches_total: u64,
}

/// `YYYY-MM-DD HH:MM:SS` in `zone`.
fn local_text(instant: sixmin_core::time::Nanos, zone: chrono_tz::Tz) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(instant)
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn topic_entry<'m>(
    topics: &'m mut BTreeMap<(String, String), TopicStatus>,
    tenant: &str,
    topic: &str,
    limit_ms: i64,
) -> &'m mut TopicStatus {
    topics
        .entry((tenant.to_owned(), topic.to_owned()))
        .or_insert_with(|| TopicStatus {
            tenant: tenant.to_owned(),
            topic: topic.to_owned(),
            limit_seconds: limit_ms as f64 / 1000.0,
            ..TopicStatus::default()
        })
}

impl StatusView {
    /// Builds the view from the engine, the callers waiting now (`engine.waiting_now()`),
    /// today's and this month's tallies (`engine.calendar_tallies()`) and the recent live
    /// breaches (oldest first).
    pub fn build(
        engine: &Engine,
        waiting: &[WaitingGroup],
        calendar: Option<&CalendarTallies>,
        recent: &VecDeque<LiveBreach>,
        live_total: u64,
    ) -> StatusView {
        StatusView::build_parts(
            engine.pack(),
            engine.clock(),
            waiting,
            calendar,
            recent,
            live_total,
        )
    }

    /// [`StatusView::build`] for several engines judging by one pack, shown as one: the
    /// newest of their clocks, their waiting callers and their tallies together.
    pub fn build_parts(
        pack: &sixmin_core::RulePack,
        clock: Option<sixmin_core::time::Nanos>,
        waiting: &[WaitingGroup],
        calendar: Option<&CalendarTallies>,
        recent: &VecDeque<LiveBreach>,
        live_total: u64,
    ) -> StatusView {
        let zone = pack.timezone;
        let recent_breaches = recent
            .iter()
            .rev()
            .map(|breach| BreachRow {
                due_local: local_text(breach.due_at, zone),
                rule: breach.rule.clone(),
                tenant: breach.tenant.clone(),
                topic: breach.topic.clone(),
                queue: breach.queue.clone(),
                call_id: breach.call_id.clone(),
            })
            .collect();
        let mut view = StatusView {
            rule_pack: pack.label(),
            timezone: zone.name().to_owned(),
            target_ratio: pack.target_ratio,
            recent_breaches,
            live_breaches_total: live_total,
            ..StatusView::default()
        };
        let Some(now) = clock else {
            return view;
        };
        let mut topics: BTreeMap<(String, String), TopicStatus> = BTreeMap::new();
        for group in waiting {
            let status = topic_entry(&mut topics, &group.tenant, &group.topic, group.limit_ms);
            status.waiting += group.waiting;
            status.over_limit += group.over_limit;
            status.at_risk += group.at_risk;
            let oldest = group.oldest_wait_ms as f64 / 1000.0;
            status.oldest_wait_seconds = status.oldest_wait_seconds.max(oldest);
        }
        if let Some(calendar) = calendar {
            for ((tenant, topic), tally) in &calendar.day {
                let limit_ms = pack.judge_topic(Some(topic)).limit_ms;
                let status = topic_entry(&mut topics, tenant, topic, limit_ms);
                status.compliance_today = tally.compliance_ratio();
                status.p95_today_seconds = tally
                    .answer_wait
                    .quantiles()
                    .p95
                    .map(|ms| ms as f64 / 1000.0);
                status.offered_today = tally.offered;
            }
            for ((tenant, topic), tally) in &calendar.month {
                let limit_ms = pack.judge_topic(Some(topic)).limit_ms;
                let status = topic_entry(&mut topics, tenant, topic, limit_ms);
                status.compliance_month = tally.compliance_ratio();
            }
        }
        view.as_of = local_text(now, zone);
        view.topics = topics.into_values().collect();
        view
    }
}

/// The page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English, left to right.
    English,
    /// Hebrew, right to left.
    Hebrew,
}

struct Labels {
    lang: &'static str,
    dir: &'static str,
    title: &'static str,
    as_of: &'static str,
    rule_pack: &'static str,
    target: &'static str,
    tenant: &'static str,
    topic: &'static str,
    waiting: &'static str,
    oldest: &'static str,
    over_limit: &'static str,
    at_risk: &'static str,
    today: &'static str,
    month: &'static str,
    p95: &'static str,
    offered: &'static str,
    breaches: &'static str,
    none: &'static str,
    call: &'static str,
    rule: &'static str,
    due: &'static str,
    queue: &'static str,
    no_data: &'static str,
    live_total: &'static str,
}

const ENGLISH: Labels = Labels {
    lang: "en",
    dir: "ltr",
    title: "Phone queues now",
    as_of: "As of",
    rule_pack: "Rule pack",
    target: "target",
    tenant: "Business",
    topic: "Topic",
    waiting: "Waiting now",
    oldest: "Oldest wait / limit",
    over_limit: "Over the limit",
    at_risk: "At risk (≥ 80 %)",
    today: "Compliance today",
    month: "Compliance this month",
    p95: "p95 wait today",
    offered: "Calls today",
    breaches: "Live breaches",
    none: "None so far.",
    call: "Call",
    rule: "Rule",
    due: "Limit passed at",
    queue: "Queue",
    no_data: "No calls yet.",
    live_total: "since start",
};

const HEBREW: Labels = Labels {
    lang: "he",
    dir: "rtl",
    title: "מצב תורי הטלפון עכשיו",
    as_of: "נכון לשעה",
    rule_pack: "חבילת כללים",
    target: "יעד",
    tenant: "עסק",
    topic: "נושא",
    waiting: "ממתינים עכשיו",
    oldest: "ההמתנה הארוכה / המגבלה",
    over_limit: "מעבר למגבלה",
    at_risk: "בסיכון (80 % ומעלה)",
    today: "עמידה היום",
    month: "עמידה החודש",
    p95: "המתנה p95 היום",
    offered: "שיחות היום",
    breaches: "חריגות בזמן אמת",
    none: "אין עד כה.",
    call: "שיחה",
    rule: "כלל",
    due: "מועד החריגה",
    queue: "תור",
    no_data: "אין עדיין שיחות.",
    live_total: "מאז ההפעלה",
};

fn topic_name(topic: &str, lang: Lang) -> String {
    let hebrew = match topic {
        "fault" => Some("תקלה"),
        "billing" => Some("חיוב"),
        "cancellation" => Some("ביטול"),
        "general" => Some("כללי"),
        _ => None,
    };
    match (lang, hebrew) {
        (Lang::Hebrew, Some(name)) => format!("{name} ({topic})"),
        _ => topic.to_owned(),
    }
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A local `YYYY-MM-DD HH:MM:SS` as the reader writes it: unchanged in English,
/// `DD/MM/YYYY HH:MM:SS` in Hebrew.
fn date_for(text: &str, lang: Lang) -> String {
    match (
        lang,
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"),
    ) {
        (Lang::Hebrew, Ok(parsed)) => parsed.format("%d/%m/%Y %H:%M:%S").to_string(),
        _ => text.to_owned(),
    }
}

/// Numbers, times and ids keep their left-to-right order inside right-to-left text.
fn ltr(text: &str) -> String {
    format!("<bdi dir=\"ltr\">{text}</bdi>")
}

fn minutes_seconds(seconds: f64) -> String {
    let whole = seconds.max(0.0).round() as u64;
    format!("{}:{:02}", whole / 60, whole % 60)
}

fn percent(ratio: Option<f64>) -> String {
    ratio.map_or("–".to_owned(), |ratio| format!("{:.1} %", ratio * 100.0))
}

/// Renders the page. `refresh_seconds` is how often it reloads itself.
pub fn render_html(view: &StatusView, lang: Lang, refresh_seconds: u32) -> String {
    let labels = match lang {
        Lang::English => &ENGLISH,
        Lang::Hebrew => &HEBREW,
    };
    let mut html = String::with_capacity(8 * 1024);
    put!(
        html,
        r#"<!doctype html>
<html lang="{lang}" dir="{dir}">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{refresh_seconds}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sixmin — {title}</title>
<style>
body {{ font-family: system-ui, "Segoe UI", Arial, sans-serif; margin: 1.5rem; color: #1c1c1c; background: #fafafa; }}
h1 {{ font-size: 1.5rem; margin: 0 0 .25rem; }}
.meta {{ color: #555; margin-bottom: 1rem; }}
table {{ border-collapse: collapse; width: 100%; background: #fff; margin-bottom: 1.5rem; }}
th, td {{ padding: .45rem .6rem; border-bottom: 1px solid #e3e3e3; text-align: start; }}
th {{ background: #f0f0f0; font-weight: 600; }}
td.num {{ font-variant-numeric: tabular-nums; text-align: end; white-space: nowrap; }}
td.alarm {{ background: #fde8ea; color: #b00020; font-weight: 700; }}
td.early {{ background: #fff3e0; color: #a15c00; font-weight: 700; }}
.below {{ color: #b00020; }}
.ok {{ color: #1b6e20; }}
.bar {{ display: inline-block; height: .6rem; background: #d0d0d0; width: 6rem; vertical-align: middle; margin-inline-start: .4rem; }}
.bar > span {{ display: block; height: 100%; background: #2b7bd6; }}
.bar.over > span {{ background: #b00020; }}
</style>
</head>
<body>
<h1>sixmin — {title}</h1>
<div class="meta">{as_of_label} <time id="as-of">{as_of}</time> ({zone}) · {rule_pack_label} {rule_pack} · {target_label} {target}</div>
"#,
        lang = labels.lang,
        dir = labels.dir,
        title = labels.title,
        as_of_label = labels.as_of,
        as_of = ltr(&escape(&date_for(&view.as_of, lang))),
        zone = escape(&view.timezone),
        rule_pack_label = labels.rule_pack,
        rule_pack = ltr(&escape(&view.rule_pack)),
        target_label = labels.target,
        target = ltr(&percent(Some(view.target_ratio))),
    );
    if view.topics.is_empty() {
        putln!(html, "<p>{}</p>", labels.no_data);
    } else {
        put!(
            html,
            "<table id=\"topics\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>\n",
            labels.tenant, labels.topic, labels.waiting, labels.over_limit, labels.at_risk,
            labels.oldest, labels.today, labels.month, labels.p95, labels.offered
        );
        for topic in &view.topics {
            let share = if topic.limit_seconds > 0.0 {
                (topic.oldest_wait_seconds / topic.limit_seconds).min(1.0)
            } else {
                0.0
            };
            let over = topic.oldest_wait_seconds > topic.limit_seconds && topic.waiting > 0;
            let compliance_class = |ratio: Option<f64>| match ratio {
                Some(ratio) if ratio < view.target_ratio => "below",
                Some(_) => "ok",
                None => "",
            };
            put!(
                html,
                "<tr data-tenant=\"{tenant}\" data-topic=\"{topic_id}\"><td>{tenant}</td><td>{topic}</td>\
                 <td class=\"num\" data-field=\"waiting\">{waiting}</td>\
                 <td class=\"num {over_class}\" data-field=\"over_limit\">{over_limit}</td>\
                 <td class=\"num {risk_class}\" data-field=\"at_risk\">{at_risk}</td>\
                 <td class=\"num\" data-field=\"oldest\" data-seconds=\"{oldest_raw:.3}\">{oldest_and_limit}<span class=\"bar{bar_class}\"><span style=\"width:{width:.0}%\"></span></span></td>\
                 <td class=\"num {today_class}\" data-field=\"compliance_today\">{today}</td>\
                 <td class=\"num {month_class}\" data-field=\"compliance_month\">{month}</td>\
                 <td class=\"num\" data-field=\"p95_today\">{p95}</td>\
                 <td class=\"num\" data-field=\"offered_today\">{offered}</td></tr>\n",
                tenant = escape(&topic.tenant),
                topic_id = escape(&topic.topic),
                topic = escape(&topic_name(&topic.topic, lang)),
                waiting = topic.waiting,
                over_limit = topic.over_limit,
                over_class = if topic.over_limit > 0 { "alarm" } else { "" },
                at_risk = topic.at_risk,
                risk_class = if topic.at_risk > 0 { "early" } else { "" },
                oldest_raw = topic.oldest_wait_seconds,
                oldest_and_limit = ltr(&format!(
                    "{} / {}",
                    minutes_seconds(topic.oldest_wait_seconds),
                    minutes_seconds(topic.limit_seconds)
                )),
                bar_class = if over { " over" } else { "" },
                width = share * 100.0,
                today_class = compliance_class(topic.compliance_today),
                today = ltr(&percent(topic.compliance_today)),
                month_class = compliance_class(topic.compliance_month),
                month = ltr(&percent(topic.compliance_month)),
                p95 = ltr(&topic.p95_today_seconds.map_or("–".to_owned(), minutes_seconds)),
                offered = topic.offered_today,
            );
        }
        html.push_str("</tbody></table>\n");
    }
    putln!(
        html,
        "<h2>{} <span class=\"meta\">({} {})</span></h2>",
        labels.breaches,
        view.live_breaches_total,
        labels.live_total
    );
    if view.recent_breaches.is_empty() {
        putln!(html, "<p>{}</p>", labels.none);
    } else {
        put!(
            html,
            "<table id=\"breaches\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>\n",
            labels.due, labels.rule, labels.tenant, labels.topic, labels.queue, labels.call
        );
        for breach in &view.recent_breaches {
            putln!(
                html,
                "<tr><td class=\"num\">{}</td><td class=\"alarm\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                ltr(&escape(&date_for(&breach.due_local, lang))),
                ltr(&escape(&breach.rule)),
                escape(&breach.tenant),
                escape(&topic_name(&breach.topic, lang)),
                escape(breach.queue.as_deref().unwrap_or("–")),
                ltr(&escape(&breach.call_id)),
            );
        }
        html.push_str("</tbody></table>\n");
    }
    html.push_str("</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> StatusView {
        StatusView {
            as_of: "2026-10-04 11:00:00".into(),
            timezone: "Asia/Jerusalem".into(),
            rule_pack: "il-consumer-protection@2019-07".into(),
            target_ratio: 0.99,
            topics: vec![TopicStatus {
                tenant: "acme".into(),
                topic: "billing".into(),
                limit_seconds: 360.0,
                waiting: 3,
                over_limit: 1,
                at_risk: 2,
                oldest_wait_seconds: 400.0,
                compliance_today: Some(0.95),
                compliance_month: Some(0.991),
                p95_today_seconds: Some(300.0),
                offered_today: 120,
            }],
            recent_breaches: Vec::new(),
            live_breaches_total: 0,
        }
    }

    #[test]
    fn english_page_shows_each_number() {
        let html = render_html(&view(), Lang::English, 5);
        assert!(html.contains(r#"<html lang="en" dir="ltr">"#));
        assert!(html.contains(r#"data-field="waiting">3<"#));
        assert!(html.contains(r#"<bdi dir="ltr">6:40 / 6:00</bdi>"#));
        assert!(html.contains("2026-10-04 11:00:00"));
        assert!(html.contains("95.0 %"));
        assert!(html.contains(r#"<meta http-equiv="refresh" content="5">"#));
        assert!(
            !html.contains("<script"),
            "no scripts: works with JavaScript disabled"
        );
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "nothing loads from elsewhere"
        );
    }

    #[test]
    fn hebrew_page_is_right_to_left() {
        let html = render_html(&view(), Lang::Hebrew, 5);
        assert!(html.contains(r#"<html lang="he" dir="rtl">"#));
        assert!(html.contains("חיוב (billing)"));
        assert!(html.contains("ממתינים עכשיו"));
        assert!(
            html.contains("04/10/2026 11:00:00"),
            "dates as an Israeli reader writes them"
        );
    }

    #[test]
    fn text_is_escaped() {
        let mut view = view();
        view.topics[0].tenant = "<script>x</script>".into();
        let html = render_html(&view, Lang::English, 5);
        assert!(html.contains("&lt;script&gt;"));
    }
}

//! The words of the PDF report in English and Hebrew, and how each language writes dates
//! and numbers (Western digits in both; Hebrew dates as dd/mm/yyyy, 24-hour times).

/// A report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English, left to right (the default).
    En,
    /// Hebrew, right to left.
    He,
}

impl std::str::FromStr for Lang {
    type Err = String;

    /// Parses `en` or `he`.
    fn from_str(text: &str) -> Result<Lang, String> {
        let code = text.trim();
        Lang::parse(code)
            .ok_or_else(|| format!("language `{code}` is not supported; use en, he or en,he"))
    }
}

impl Lang {
    /// Parses `en` or `he`.
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "en" => Some(Lang::En),
            "he" => Some(Lang::He),
            _ => None,
        }
    }

    /// `en` or `he`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::He => "he",
        }
    }

    /// `ltr` or `rtl`.
    pub fn dir(self) -> &'static str {
        match self {
            Lang::En => "ltr",
            Lang::He => "rtl",
        }
    }

    /// The label `key` in this language (the key itself if unknown).
    pub fn label(self, key: &'static str) -> &'static str {
        LABELS
            .iter()
            .find(|(known, ..)| *known == key)
            .map_or(key, |(_, en, he)| match self {
                Lang::En => en,
                Lang::He => he,
            })
    }

    /// Short weekday names, Sunday first.
    pub fn weekdays(self) -> [&'static str; 7] {
        match self {
            Lang::En => ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
            Lang::He => ["א׳", "ב׳", "ג׳", "ד׳", "ה׳", "ו׳", "ש׳"],
        }
    }

    /// A local date and time: `2026-10-05 10:00` or `05/10/2026 10:00`.
    pub fn date_time(self, local: &chrono::DateTime<chrono_tz::Tz>) -> String {
        match self {
            Lang::En => local.format("%Y-%m-%d %H:%M:%S").to_string(),
            Lang::He => local.format("%d/%m/%Y %H:%M:%S").to_string(),
        }
    }

    /// A date: `2026-10-05` or `05/10/2026`.
    pub fn date(self, day: chrono::NaiveDate) -> String {
        match self {
            Lang::En => day.format("%Y-%m-%d").to_string(),
            Lang::He => day.format("%d/%m/%Y").to_string(),
        }
    }
}

/// (key, English, Hebrew).
const LABELS: &[(&str, &str, &str)] = &[
    ("title", "Call-wait compliance report", "דוח עמידה בזמני המתנה למענה אנושי"),
    ("business", "Business", "עסק"),
    ("period", "Period", "תקופה"),
    ("timezone", "Time zone", "אזור זמן"),
    ("rule_pack", "Rule pack", "חבילת כללים"),
    ("generated", "Generated", "הופק"),
    ("product", "Product", "מוצר"),
    ("summary", "Summary by topic", "סיכום לפי נושא"),
    ("tenant", "Business", "עסק"),
    ("topic", "Topic", "נושא"),
    ("limit", "Limit (s)", "מגבלה (שנ׳)"),
    ("offered", "Offered", "שיחות"),
    ("answered", "Answered", "נענו"),
    ("abandoned", "Abandoned", "ננטשו"),
    ("callback", "Callback", "חזרה"),
    ("incomplete", "Incomplete", "חסרות"),
    ("within", "Answered within limit", "נענו בתוך המגבלה"),
    ("breached", "Breached calls", "שיחות בהפרה"),
    ("compliance", "Compliance", "עמידה"),
    ("wait_p50", "p50 wait (s)", "חציון המתנה (שנ׳)"),
    ("wait_p90", "p90 wait (s)", "המתנה p90 (שנ׳)"),
    ("wait_p95", "p95 wait (s)", "המתנה p95 (שנ׳)"),
    ("wait_p99", "p99 wait (s)", "המתנה p99 (שנ׳)"),
    ("target", "Target", "יעד"),
    ("target_met", "met", "עומד"),
    ("target_missed", "below", "מתחת"),
    ("wait_max", "Max wait (s)", "המתנה מרבית (שנ׳)"),
    ("total", "Total", "סה״כ"),
    ("by_rule", "Breaches per rule", "הפרות לפי כלל"),
    ("rule", "Rule", "כלל"),
    ("breaches", "Breaches", "הפרות"),
    ("daily", "Compliance by day", "עמידה לפי יום"),
    ("daily_wait", "p95 answer wait by day (seconds; the line is the limit)", "המתנה p95 למענה לפי יום (שניות; הקו הוא המגבלה)"),
    ("heat", "Breached calls by weekday and hour", "שיחות בהפרה לפי יום ושעה"),
    ("worst_days", "Worst days", "הימים הגרועים ביותר"),
    ("worst_queues", "Worst queues", "התורים הגרועים ביותר"),
    ("day", "Day", "יום"),
    ("queue", "Queue", "תור"),
    ("ledger", "Ledger of breached calls", "יומן השיחות בהפרה"),
    ("ledger_note", "The first {shown} of {total} breached calls. The complete ledger, with the evidence event ids of every call, is in {file} and in the XLSX workbook.", "{shown} הראשונות מתוך {total} השיחות בהפרה. היומן המלא, עם מזהי אירועי הראיה של כל שיחה, בקובץ {file} ובחוברת ה-XLSX."),
    ("call", "Call", "שיחה"),
    ("start", "Start", "תחילה"),
    ("wait", "Wait (s)", "המתנה (שנ׳)"),
    ("rules_broken", "Rules broken", "כללים שהופרו"),
    ("quality", "Data quality", "איכות נתונים"),
    ("events", "Events received", "אירועים שהתקבלו"),
    ("accepted", "Events applied", "אירועים שהוחלו"),
    ("invalid", "Invalid events", "אירועים פסולים"),
    ("duplicates", "Duplicates", "כפולים"),
    ("late", "Late events", "אירועים מאוחרים"),
    ("stop_before_start", "Stop before start", "סיום לפני התחלה"),
    ("incomplete_calls", "Incomplete calls", "שיחות חסרות"),
    ("orphans", "Calls never started", "שיחות ללא התחלה"),
    ("pending", "Calls not final yet", "שיחות שטרם הוכרעו"),
    ("gaps", "Input gaps (hours without events)", "פערים בקלט (שעות ללא אירועים)"),
    ("none", "none", "אין"),
    ("integrity", "Integrity", "שלמות"),
    ("report_sha256", "SHA-256 of the JSON report", "SHA-256 של דוח ה-JSON"),
    ("pack_sha256", "SHA-256 of the rule pack", "SHA-256 של חבילת הכללים"),
    ("inputs", "Inputs", "קלטים"),
    ("page", "Page", "עמוד"),
    ("of", "of", "מתוך"),
];

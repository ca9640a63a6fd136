//! The only place sixmin reads the wall clock (the engine never does): live modes move
//! an idle engine's clock to now, checkpoints and reports are stamped with it.

/// Now, as RFC 3339 UTC with seconds.
#[allow(clippy::disallowed_methods)]
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Today's date in `zone`.
#[allow(clippy::disallowed_methods)]
pub fn today_in(zone: chrono_tz::Tz) -> chrono::NaiveDate {
    chrono::Utc::now().with_timezone(&zone).date_naive()
}

/// Now, as nanoseconds since the Unix epoch (the engine clock's unit).
#[allow(clippy::disallowed_methods)]
pub fn now_nanos() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

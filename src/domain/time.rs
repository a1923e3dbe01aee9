//! Timestamps: UTC, microsecond precision (what PostgreSQL keeps), written
//! the same way on both faces.

use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};

/// Now, truncated to microseconds so a value read back from the database
/// equals the one written (the 201 body equals a later GET).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(now)
}

/// RFC 3339 in UTC with a `Z`, e.g. `2026-11-22T10:00:00.123456Z`.
pub fn rfc3339(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `serialize_with` helper for REST bodies.
pub fn serialize<S: serde::Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(at))
}

/// `serialize_with` helper for optional timestamps.
pub fn serialize_option<S: serde::Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serializer.serialize_str(&rfc3339(at)),
        None => serializer.serialize_none(),
    }
}

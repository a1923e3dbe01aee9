//! `DateTime`: RFC 3339 in UTC with a `Z`, byte-for-byte what REST shows.
//! Two Rust types share the name: [`DateTime`], which the schema shows,
//! and [`DateTimeInput`], which the list filters take, so that an instant
//! that does not parse is reported like the filters' other problems
//! (`BAD_USER_INPUT` on the field, all at once), as on REST.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime as ChronoDateTime, Utc};

use crate::domain::time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub ChronoDateTime<Utc>);

/// An RFC 3339 timestamp in UTC, e.g. `2026-11-22T10:00:00.123456Z`.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => ChronoDateTime::parse_from_rfc3339(text)
                .map(|at| Self(at.with_timezone(&Utc)))
                .map_err(|_| InputValueError::custom("expected an RFC 3339 timestamp")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(time::rfc3339(&self.0))
    }
}

/// A `DateTime` argument as sent: the instant, or the text that is not one
/// (refused by the resolver, which names the field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTimeInput(pub Result<ChronoDateTime<Utc>, String>);

/// An RFC 3339 timestamp in UTC, e.g. `2026-11-22T10:00:00.123456Z`.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTimeInput {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(text) => Ok(Self(
                ChronoDateTime::parse_from_rfc3339(&text).map(|at| at.with_timezone(&Utc)).map_err(|_| text),
            )),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        match &self.0 {
            Ok(at) => Value::String(time::rfc3339(at)),
            Err(text) => Value::String(text.clone()),
        }
    }
}

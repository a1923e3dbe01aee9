"""Flask-RESTX fields that write values the way storegate's REST does."""

from datetime import timezone

from flask_restx import fields


class Timestamp(fields.Raw):
    """RFC 3339 in UTC with a `Z` and always six fractional digits
    (`2026-11-22T10:00:00.123456Z`), storegate's `time::rfc3339`.
    RESTX's own `fields.DateTime` writes `+00:00` and drops zero microseconds."""

    __schema_type__ = "string"
    __schema_format__ = "date-time"

    def format(self, value):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Money(fields.Raw):
    """Integer cents as a JSON number with at most two decimals: 1299 is
    12.99, 1000 is 10.0 (the shortest float that round-trips, as serde_json
    writes storegate's `Money::as_f64`)."""

    __schema_type__ = "number"

    def format(self, value):
        return value / 100

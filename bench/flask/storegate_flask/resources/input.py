"""Request input checked by storegate's rules (src/domain/input.rs and the
resources' `validator` rules), with the same field messages; every failing
field is reported at once, sorted by field name."""

import math
import re

from flask import request

from ..problems import bad_request

ABSENT = object()
MAX_CENTS = 100_000_000_000  # storegate's Money::MAX_CENTS (1,000,000,000.00)
_INTEGER = re.compile(r"^[+-]?[0-9]+$")


class BadBody(Exception):
    def __init__(self, response):
        self.response = response


def json_object() -> dict:
    """The request's JSON object, or a 400 (malformed JSON or not an object)."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise BadBody(bad_request("the request body is not a JSON object"))
    return body


class FieldErrors:
    def __init__(self):
        self.errors = []

    def push(self, field, message):
        self.errors.append({"field": field, "message": message})

    def required(self, body, field, current=ABSENT):
        """A required field: absent (when there is no current value to keep)
        or null is an error."""
        value = body.get(field, ABSENT)
        if value is None:
            self.push(field, "must not be null")
            return None
        if value is ABSENT:
            if current is ABSENT:
                self.push(field, "is required")
                return None
            return current
        return value

    def sorted(self):
        return sorted(self.errors, key=lambda e: e["field"])


def text(errors, field, value, low, high):
    """A trimmed string of `low` to `high` characters (characters, not bytes)."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.push(field, "must be a string")
        return None
    value = value.strip()
    if not low <= len(value) <= high:
        errors.push(field, f"must be {low} to {high} characters")
    return value


def cents(errors, field, value):
    """storegate's `Money::from_decimal`: exact cents, 0 to 1e9, at most two
    decimals (12.99 * 100 is 1298.9999999999998: float noise is not a third
    decimal)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        errors.push(field, "must be a number")
        return None
    if value < 0:
        errors.push(field, "must be at least 0")
        return None
    scaled = value * 100.0
    if scaled > MAX_CENTS:
        errors.push(field, "must be at most 1000000000")
        return None
    rounded = round(scaled)
    if abs(scaled - rounded) > 1e-6 * max(abs(scaled), 1.0):
        errors.push(field, "must have at most 2 decimal places")
        return None
    return int(rounded)


def integer_id(errors, field, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
        errors.push(field, "must be an integer id")
        return None
    return value


def integer_text(value):
    """Query-string integer text as Rust's `str::parse::<i64>` takes it."""
    if value is None or not _INTEGER.match(value):
        return None
    return int(value)

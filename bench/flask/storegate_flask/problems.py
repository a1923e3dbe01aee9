"""Error answers in storegate's shape: RFC 9457 problem+json
`{type, title, status, detail, code}` (API.md §3); validation errors list
every failing field at once in `errors`."""

import json
from http import HTTPStatus

from flask import Response


def problem(status: int, code: str, detail: str, errors=None, headers=None) -> Response:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    # storegate writes problem members in name order.
    response = Response(
        json.dumps(body, separators=(",", ":"), sort_keys=True),
        status=status,
        mimetype="application/problem+json",
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def unauthenticated(detail: str, code: str = "UNAUTHENTICATED", presented: bool = True) -> Response:
    challenge = 'Bearer error="invalid_token"' if presented else "Bearer"
    return problem(401, code, detail, headers={"WWW-Authenticate": challenge})


def not_found(what: str, _id: int) -> Response:
    return problem(404, "NOT_FOUND", f"no {what} with id {_id}")


def invalid(errors: list) -> Response:
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return problem(422, "BAD_USER_INPUT", f"invalid input: {fields}", errors=errors)


def bad_request(detail: str) -> Response:
    return problem(400, "BAD_REQUEST", detail)

"""schemathesis hooks for storegate's CI (see the schemathesis step in .ci/run).

One auth provider gives every request the bearer token its operation needs.
Tokens that an operation under test spends or ends come from sessions of
their own, so that the admin token every other call uses survives:

* `POST /api/auth/refresh` takes a *refresh* token (security scheme
  `refreshToken`) and spends it (a second use revokes its session): each
  call gets the refresh token of a new login;
* `POST /api/auth/logout` revokes the access token it is sent: each call
  gets the access token of a new login;
* `POST /api/auth/logout-all` and `POST /api/auth/password` end every
  session of their caller: each call gets a new login of a second user,
  whose password the generated bodies never name;
* everything else gets the admin's fresh access token, so admin-only
  deletes and fresh-token writes are exercised, not just their 401/403.

Only failed logins count toward the login throttle, but the generated
wrong current passwords of `/api/auth/password` are failures, counted per
email and per client address. The server runs with `LOGIN_MAX_FAILURES`
raised and trusts `X-Forwarded-For` (.ci/run), and each login of the hooks
names an address of its own there, so the hooks' logins are never refused.

schemathesis removes or corrupts the header itself where it tests that auth
is enforced (`ignored_auth`, `missing_required_header`).
"""

import itertools
import os

import requests
import schemathesis

BASE_URL = os.environ["STOREGATE_URL"]
ACCESS_TOKEN = os.environ["STOREGATE_ACCESS_TOKEN"]
ADMIN = (os.environ["STOREGATE_EMAIL"], os.environ["STOREGATE_PASSWORD"])
OTHER = (os.environ["STOREGATE_OTHER_EMAIL"], os.environ["STOREGATE_OTHER_PASSWORD"])


LOGINS = itertools.count(1)


def login(credentials: tuple[str, str]) -> dict:
    email, password = credentials
    n = next(LOGINS)
    response = requests.post(
        f"{BASE_URL}/api/auth/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


# No caching (each call decides per operation) and no re-login on 401: a
# 401 is an answer under test here, never a sign of an expired session.
@schemathesis.auth(refresh_interval=None, retry_on=[])
class StoregateAuth:
    def get(self, case, context):
        path = context.operation.path
        if path == "/api/auth/refresh":
            return login(ADMIN)["refresh_token"]
        if path == "/api/auth/logout":
            return login(ADMIN)["access_token"]
        if path in ("/api/auth/logout-all", "/api/auth/password"):
            return login(OTHER)["access_token"]
        return ACCESS_TOKEN

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"

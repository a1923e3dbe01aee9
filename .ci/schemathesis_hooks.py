"""schemathesis hooks for storegate's CI (see the schemathesis step in .ci/run).

One auth provider gives every request the bearer token its operation needs:

* `POST /api/auth/refresh` takes the *refresh* token (security scheme
  `refreshToken`), not the access token;
* `POST /api/auth/logout` revokes the access token it is sent, so each call
  gets a throwaway access token minted through `/api/auth/refresh` (not
  throttled, unlike login); the admin token every other call uses survives;
* everything else gets the admin's fresh access token, so admin-only
  deletes and fresh-token writes are exercised, not just their 401/403.

schemathesis removes or corrupts the header itself where it tests that auth
is enforced (`ignored_auth`, `missing_required_header`).
"""

import os

import requests
import schemathesis

BASE_URL = os.environ["STOREGATE_URL"]
ACCESS_TOKEN = os.environ["STOREGATE_ACCESS_TOKEN"]
REFRESH_TOKEN = os.environ["STOREGATE_REFRESH_TOKEN"]


def throwaway_access_token() -> str:
    response = requests.post(
        f"{BASE_URL}/api/auth/refresh",
        headers={"Authorization": f"Bearer {REFRESH_TOKEN}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


# No caching (each call decides per operation) and no re-login on 401: a
# 401 is an answer under test here, never a sign of an expired session.
@schemathesis.auth(refresh_interval=None, retry_on=[])
class StoregateAuth:
    def get(self, case, context):
        path = context.operation.path
        if path == "/api/auth/refresh":
            return REFRESH_TOKEN
        if path == "/api/auth/logout":
            return throwaway_access_token()
        return ACCESS_TOKEN

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"

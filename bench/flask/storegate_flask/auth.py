"""Flask-JWT-Extended set up to accept the access tokens storegate issues
(src/auth/tokens.rs) and to refuse what storegate refuses.

Flask-JWT-Extended checks the signature (HS256 only), `exp`, `nbf`, `iss`,
`aud` (with storegate's 5 s leeway) and the `fresh` flag of
`@jwt_required(fresh=True)`. storegate's own claims need a few more checks:
the kind is in `token_type` (Flask-JWT-Extended reads `type`, absent here),
and `exp`, `nbf` and `jti` must be present. Like the seed's blocklist, every
token's `jti` is looked up in the revocation table, storegate's
`revoked_tokens` (its logout writes there); in the same statement, as
storegate does, the token's user must still exist.
"""

import uuid

from flask import g

from .models import RevokedTokenModel
from .problems import unauthenticated


def claims_problem(claims: dict) -> str | None:
    """What storegate's `TokenService::verify` refuses beyond what
    Flask-JWT-Extended already checked, or None."""
    if any(name not in claims for name in ("exp", "nbf", "jti", "token_type")):
        return "the token lacks required claims"
    if claims.get("token_type") != "access":
        return "a refresh token cannot be used as an access token"
    try:
        uuid.UUID(str(claims["jti"]))
    except ValueError:
        return "the token lacks required claims"
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.isdigit() or int(sub) > 2**31 - 1:
        return "the token subject is invalid"
    return None


def current_user_id() -> int:
    return int(g.jwt_user_id)


def register(jwt) -> None:
    @jwt.token_in_blocklist_loader
    def check_if_token_is_revoked(jwt_header, jwt_payload) -> bool:
        refusal = claims_problem(jwt_payload)
        if refusal is None:
            user_id = int(jwt_payload["sub"])
            revoked, user_exists = RevokedTokenModel.check_session(str(jwt_payload["jti"]), user_id)
            if revoked:
                refusal = "the token has been revoked"
            elif not user_exists:
                refusal = "the token's user no longer exists"
            else:
                g.jwt_user_id = user_id
        g.jwt_refusal = refusal
        return refusal is not None

    @jwt.revoked_token_loader
    def refused(jwt_header, jwt_payload):
        return unauthenticated(g.get("jwt_refusal") or "the token has been revoked")

    @jwt.unauthorized_loader
    def missing(reason: str):
        if reason.startswith("Missing"):
            return unauthenticated("this action requires a bearer token", presented=False)
        return unauthenticated("the Authorization header must be `Bearer <token>`")

    @jwt.invalid_token_loader
    def invalid(reason: str):
        # PyJWT's reason (bad signature, wrong issuer or audience, not yet
        # valid, malformed) is not echoed: it can quote the token's bytes.
        return unauthenticated("the token is malformed or its signature or claims are invalid")

    @jwt.expired_token_loader
    def expired(jwt_header, jwt_payload):
        return unauthenticated("the token has expired")

    @jwt.needs_fresh_token_loader
    def not_fresh(jwt_header, jwt_payload):
        return unauthenticated(
            "this action needs a fresh token: log in again to get one", code="FRESH_TOKEN_REQUIRED"
        )

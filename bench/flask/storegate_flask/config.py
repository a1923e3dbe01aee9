import os
from datetime import timedelta


def sqlalchemy_url(url: str) -> str:
    """storegate's `postgres://…?sslmode=disable` as SQLAlchemy's
    `postgresql+psycopg://…` (psycopg 3; libpq reads `sslmode` as is)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"set {name}")
    return value


class Config:
    SQLALCHEMY_DATABASE_URI = sqlalchemy_url(_required("DATABASE_URL"))
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_RECORD_QUERIES = False
    # Per gunicorn worker; start.sh sets FLASK_POOL_SIZE so that the workers
    # together hold storegate's 16 connections (src/db.rs).
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_size": int(os.environ.get("FLASK_POOL_SIZE", "8")),
        "max_overflow": 0,
        "pool_timeout": 5,
    }

    # Tokens are issued by storegate (src/auth/tokens.rs): HS256 with its
    # JWT_SECRET, iss "storegate", aud "storegate-api", sub the user id as a
    # string, a `fresh` flag, a UUID `jti`, and the kind in `token_type`.
    JWT_SECRET_KEY = _required("JWT_SECRET")
    JWT_ALGORITHM = "HS256"
    JWT_DECODE_ALGORITHMS = ["HS256"]
    JWT_DECODE_ISSUER = "storegate"
    JWT_DECODE_AUDIENCE = "storegate-api"
    JWT_DECODE_LEEWAY = 5  # storegate's LEEWAY_SECS, on exp and nbf
    JWT_IDENTITY_CLAIM = "sub"
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_HEADER_TYPE = "Bearer"
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)  # never used: nothing is issued here

    RESTX_MASK_SWAGGER = False
    ERROR_404_HELP = False
    # Let Flask-JWT-Extended's error handlers answer its exceptions (Flask-RESTX
    # would otherwise turn them into 500s).
    PROPAGATE_EXCEPTIONS = True

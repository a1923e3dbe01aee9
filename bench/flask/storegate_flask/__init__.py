"""A Flask app in the style of the seed tutorial (Flask-RESTX resources,
Flask-JWT-Extended, Flask-SQLAlchemy models), serving storegate's REST
shapes for the benchmark in bench/compare.sh. See README.md beside this
package."""

import json

from flask import Flask, make_response
from flask_jwt_extended import JWTManager
from flask_restx import Api
from flask_sqlalchemy import SQLAlchemy

from .config import Config

# Objects stay readable after a commit without a reload
# (SQLAlchemy would otherwise SELECT a row again to show what it just wrote).
db = SQLAlchemy(session_options={"expire_on_commit": False})
jwt = JWTManager()


def create_app(config: type = Config) -> Flask:
    app = Flask(__name__)
    app.config.from_object(config)

    db.init_app(app)
    jwt.init_app(app)

    from . import auth

    auth.register(jwt)

    # The seed generates Swagger UI from the resources; a production server
    # does not serve it (PostGraphile runs without GraphiQL here too).
    api = Api(app, prefix="/api", doc=False, add_specs=False, catch_all_404s=True)

    @api.representation("application/json")
    def output_json(data, code, headers=None):
        """RESTX's JSON output without the newline it appends: compact, as
        storegate writes it."""
        response = make_response(json.dumps(data, separators=(",", ":")), code)
        response.headers.extend(headers or {})
        response.mimetype = "application/json"
        return response

    from .resources import factories, items, products, stores, todos

    for namespace in (products.api, factories.api, stores.api, items.api, todos.api):
        api.add_namespace(namespace)
    return app

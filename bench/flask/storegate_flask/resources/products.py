import base64
from urllib.parse import urlencode

from flask import request
from flask_restx import Namespace, Resource, fields, marshal

from ..fields import Money, Timestamp
from ..models import ProductModel
from ..problems import invalid, not_found
from .input import FieldErrors, integer_text

api = Namespace("products", description="Products, each with its factory's id and name")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
CURSOR_PREFIX = "sg1:"  # storegate's cursor: base64url (no padding) of "sg1:{last id}"

factory_summary = api.model("FactorySummary", {"id": fields.Integer, "name": fields.String})
product = api.model(
    "Product",
    {
        "id": fields.Integer,
        "sku": fields.String,
        "name": fields.String,
        "description": fields.String,
        "price": Money(attribute="price_cents"),
        "factory": fields.Nested(factory_summary),
        "created_at": Timestamp,
        "updated_at": Timestamp,
    },
)
product_page = api.model(
    "ProductPage", {"data": fields.List(fields.Nested(product)), "next_cursor": fields.String}
)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{last_id}".encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str):
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        return None
    if not text.startswith(CURSOR_PREFIX):
        return None
    last = integer_text(text[len(CURSOR_PREFIX) :])
    return last if last is not None and 0 <= last < 2**31 else None


def page_request():
    """`?limit=` (1-100, default 20) and `?cursor=`, or the 422 of both."""
    errors = FieldErrors()
    limit_text = request.args.get("limit")
    limit = DEFAULT_LIMIT if limit_text is None else integer_text(limit_text)
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        errors.push("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    cursor = request.args.get("cursor")
    after = None
    if cursor is not None:
        after = decode_cursor(cursor)
        if after is None:
            errors.push("cursor", "is not a cursor issued by this server")
    return limit, after, errors


def next_link(next_cursor: str) -> str:
    """`Link: <path?…&cursor=…>; rel="next"`, keeping the other parameters."""
    params = [(k, v) for k, v in request.args.items(multi=True) if k != "cursor"]
    params.append(("cursor", next_cursor))
    return f'<{request.path}?{urlencode(params)}>; rel="next"'


@api.route("")
class ProductList(Resource):
    def get(self):
        limit, after, errors = page_request()
        if errors.errors:
            return invalid(errors.sorted())
        rows = ProductModel.page(after, limit)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1].id)
        body = marshal({"data": rows, "next_cursor": next_cursor}, product_page)
        headers = {"Link": next_link(next_cursor)} if next_cursor else {}
        return body, 200, headers


@api.route("/<int:product_id>")
class Product(Resource):
    def get(self, product_id):
        found = ProductModel.find_by_id(product_id)
        if found is None:
            return not_found("product", product_id)
        return marshal(found, product)

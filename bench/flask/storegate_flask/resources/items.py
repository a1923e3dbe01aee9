from flask_jwt_extended import jwt_required
from flask_restx import Namespace, Resource, fields, marshal

from ..fields import Money, Timestamp
from ..models import ItemModel, StoreModel, utc_now
from ..problems import invalid
from .input import BadBody, FieldErrors, cents, integer_id, json_object, text

api = Namespace("items", description="Items of stores")

item = api.model(
    "Item",
    {
        "id": fields.Integer,
        "name": fields.String,
        "price": Money(attribute="price_cents"),
        "store_id": fields.Integer,
        "created_at": Timestamp,
        "updated_at": Timestamp,
    },
)


@api.route("")
class ItemList(Resource):
    # storegate: items are created by signed-in users with a fresh token
    # (one issued by a login), admins too.
    @jwt_required(fresh=True)
    def post(self):
        try:
            body = json_object()
        except BadBody as e:
            return e.response
        errors = FieldErrors()
        name = text(errors, "name", errors.required(body, "name"), 1, 80)
        price = cents(errors, "price", errors.required(body, "price"))
        store_id = integer_id(errors, "store_id", errors.required(body, "store_id"))
        if store_id is not None and StoreModel.find_by_id(store_id) is None:
            errors.push("store_id", "no store with this id")
        if errors.errors:
            return invalid(errors.sorted())
        now = utc_now()
        created = ItemModel(
            name=name, price_cents=price, store_id=store_id, created_at=now, updated_at=now
        ).save()
        return marshal(created, item), 201, {"Location": f"/api/items/{created.id}"}

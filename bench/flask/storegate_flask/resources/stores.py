from flask_restx import Namespace, Resource, fields, marshal

from ..fields import Money, Timestamp
from ..models import StoreModel
from ..problems import not_found

api = Namespace("stores", description="Stores and their items")

item_summary = api.model(
    "ItemSummary", {"id": fields.Integer, "name": fields.String, "price": Money(attribute="price_cents")}
)
store_detail = api.model(
    "StoreDetail",
    {
        "id": fields.Integer,
        "name": fields.String,
        "created_at": Timestamp,
        "updated_at": Timestamp,
        "items": fields.List(fields.Nested(item_summary)),
    },
)


@api.route("/<int:store_id>")
class Store(Resource):
    def get(self, store_id):
        found = StoreModel.find_with_items(store_id)
        if found is None:
            return not_found("store", store_id)
        return marshal(found, store_detail)

from flask_restx import Namespace, Resource, fields, marshal

from ..fields import Timestamp
from ..models import FactoryModel
from ..problems import not_found

api = Namespace("factories", description="Factories")

factory = api.model(
    "Factory",
    {
        "id": fields.Integer,
        "name": fields.String,
        "address": fields.String,
        "city": fields.String,
        "country": fields.String,
        "phone": fields.String,
        "email": fields.String,
        "established_year": fields.Integer,
        "capacity_per_month": fields.Integer,
        "certifications": fields.List(fields.String),
        "created_at": Timestamp,
        "updated_at": Timestamp,
    },
)


@api.route("/<int:factory_id>")
class Factory(Resource):
    def get(self, factory_id):
        found = FactoryModel.find_by_id(factory_id)
        if found is None:
            return not_found("factory", factory_id)
        return marshal(found, factory)

from flask_jwt_extended import jwt_required
from flask_restx import Namespace, Resource, fields, marshal

from ..auth import current_user_id
from ..fields import Timestamp
from ..models import TodoModel, utc_now
from ..problems import invalid, not_found
from .input import BadBody, FieldErrors, json_object, text

api = Namespace("todos", description="Each user's own todos")

todo = api.model(
    "Todo",
    {
        "id": fields.Integer,
        "title": fields.String,
        "status": fields.String,
        "created_at": Timestamp,
        "updated_at": Timestamp,
        "completed_at": Timestamp,
    },
)


@api.route("/<int:todo_id>")
class Todo(Resource):
    @jwt_required()
    def patch(self, todo_id):
        # The seed's per-user todos: another user's todo is a 404, never a 403.
        current = TodoModel.find_own(todo_id, current_user_id())
        if current is None:
            return not_found("todo", todo_id)
        try:
            body = json_object()
        except BadBody as e:
            return e.response
        errors = FieldErrors()
        title = text(errors, "title", errors.required(body, "title", current.title), 1, 200)
        status = errors.required(body, "status", current.status)
        if status is not None and status not in ("open", "completed"):
            errors.push("status", "must be open or completed")
        if errors.errors:
            return invalid(errors.sorted())
        # Completing sets completed_at (completing again keeps it); reopening clears it.
        now = utc_now()
        if status == "open":
            current.completed_at = None
        elif current.status == "open":
            current.completed_at = now
        current.title = title
        current.status = status
        current.updated_at = now
        current.save()
        return marshal(current, todo)

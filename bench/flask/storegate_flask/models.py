"""Flask-SQLAlchemy models mapped onto the tables storegate's migrations
create (migration/src, entity/src). The app never creates or alters a
table: storegate owns the schema.

As in the seed tutorial, queries live on the models as class methods and the
resources only call them (`ProductModel.find_by_id(id)`).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import joinedload

from . import db


def utc_now() -> datetime:
    """Now, in UTC, to the microsecond (what PostgreSQL keeps), as storegate's
    `time::now`, so a 201 body equals a later GET."""
    return datetime.now(timezone.utc)


class BaseModel:
    """The seed's BaseModel: save and delete in one place."""

    def save(self):
        db.session.add(self)
        db.session.commit()
        return self

    def delete(self):
        db.session.delete(self)
        db.session.commit()


class UserModel(BaseModel, db.Model):
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(320), unique=True, nullable=False)
    password_hash = db.Column(db.String, nullable=False)
    is_admin = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False)


class RevokedTokenModel(db.Model):
    """storegate's token blocklist (`POST /api/auth/logout` writes it)."""

    __tablename__ = "revoked_tokens"

    jti = db.Column(db.String(64), primary_key=True)
    expires_at = db.Column(db.DateTime(timezone=True), nullable=False)

    @classmethod
    def check_session(cls, jti: str, user_id: int) -> tuple[bool, bool]:
        """(revoked, user exists) in one statement, as storegate asks it:
        `SELECT EXISTS (revoked jti), EXISTS (user)`."""
        row = db.session.execute(
            select(
                exists().where(cls.jti == jti).label("revoked"),
                exists().where(UserModel.id == user_id).label("user_exists"),
            )
        ).one()
        return bool(row.revoked), bool(row.user_exists)


class StoreModel(BaseModel, db.Model):
    __tablename__ = "stores"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(320), nullable=False)
    name_key = db.Column(db.String(320), nullable=False, unique=True)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False)
    updated_at = db.Column(db.DateTime(timezone=True), nullable=False)

    items = db.relationship(
        "ItemModel", back_populates="store", order_by="ItemModel.id", lazy="select"
    )

    @classmethod
    def find_by_id(cls, _id: int) -> StoreModel | None:
        return db.session.get(cls, _id)

    @classmethod
    def find_with_items(cls, _id: int) -> StoreModel | None:
        """The store and all of its items by id: one statement (a LEFT JOIN),
        as storegate reads it."""
        return (
            db.session.execute(select(cls).options(joinedload(cls.items)).where(cls.id == _id))
            .unique()
            .scalar_one_or_none()
        )


class ItemModel(BaseModel, db.Model):
    __tablename__ = "items"

    id = db.Column(db.Integer, primary_key=True)
    store_id = db.Column(db.Integer, db.ForeignKey("stores.id"), nullable=False)
    name = db.Column(db.String(320), nullable=False)
    price_cents = db.Column(db.BigInteger, nullable=False)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False)
    updated_at = db.Column(db.DateTime(timezone=True), nullable=False)

    store = db.relationship("StoreModel", back_populates="items")


class FactoryModel(BaseModel, db.Model):
    __tablename__ = "factories"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(320), nullable=False)
    address = db.Column(db.String(800), nullable=False)
    city = db.Column(db.String(320), nullable=False)
    country = db.Column(db.String(320), nullable=False)
    phone = db.Column(db.String(160))
    email = db.Column(db.String(320))
    established_year = db.Column(db.Integer)
    capacity_per_month = db.Column(db.Integer)
    certifications = db.Column(JSONB, nullable=False)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False)
    updated_at = db.Column(db.DateTime(timezone=True), nullable=False)

    @classmethod
    def find_by_id(cls, _id: int) -> FactoryModel | None:
        return db.session.get(cls, _id)


class ProductModel(BaseModel, db.Model):
    __tablename__ = "products"

    id = db.Column(db.Integer, primary_key=True)
    sku = db.Column(db.String(256), nullable=False, unique=True)
    name = db.Column(db.String(320), nullable=False)
    description = db.Column(db.Text)
    price_cents = db.Column(db.BigInteger, nullable=False)
    factory_id = db.Column(db.Integer, db.ForeignKey("factories.id"), nullable=False)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False)
    updated_at = db.Column(db.DateTime(timezone=True), nullable=False)

    # A product is always shown with its factory: loaded in the same
    # statement (an inner join, the foreign key is NOT NULL), as storegate does.
    factory = db.relationship("FactoryModel", lazy="joined", innerjoin=True)

    @classmethod
    def find_by_id(cls, _id: int) -> ProductModel | None:
        return db.session.get(cls, _id)

    @classmethod
    def page(cls, after: int | None, limit: int) -> list[ProductModel]:
        """`WHERE id > after ORDER BY id LIMIT limit + 1`: storegate's keyset
        page, one row more than asked so the caller knows whether more follow."""
        query = select(cls).order_by(cls.id).limit(limit + 1)
        if after is not None:
            query = query.where(cls.id > after)
        return list(db.session.execute(query).scalars())


class TodoModel(BaseModel, db.Model):
    __tablename__ = "todos"

    id = db.Column(db.Integer, primary_key=True)
    owner_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    title = db.Column(db.String(800), nullable=False)
    status = db.Column(db.String(16), nullable=False)
    completed_at = db.Column(db.DateTime(timezone=True))
    created_at = db.Column(db.DateTime(timezone=True), nullable=False)
    updated_at = db.Column(db.DateTime(timezone=True), nullable=False)

    @classmethod
    def find_own(cls, _id: int, owner_id: int) -> TodoModel | None:
        """The seed's per-user todos: another user's todo is not found."""
        return db.session.execute(
            select(cls).where(cls.id == _id, cls.owner_id == owner_id)
        ).scalar_one_or_none()

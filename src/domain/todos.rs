//! Todos: each user's own. Another user's todo does not exist for you
//! (404, never 403), so ids leak nothing.

use entity::todo::{self, Status};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, SelectModel,
};
use std::sync::LazyLock;
use validator::Validate;

use crate::auth::Viewer;
use crate::domain::error::AppError;
use crate::domain::input::{FieldErrors, Patch, WriteMode, trimmed};
use crate::domain::listing::{Kind, ListPage, ListRequest, Sortable, Spec};
use crate::domain::permissions::require_user;
use crate::domain::precondition::{Expect, begin_write};
use crate::domain::statements::CachedStatement;
use crate::domain::time;
use crate::events::{Change, ChangeKind};
use crate::state::AppState;

pub use entity::todo::Status as TodoStatus;

/// A todo write: POST takes `title` (and may set `status`); PATCH takes
/// either or both.
#[derive(Debug, Clone, Default)]
pub struct TodoInput {
    pub title: Patch<String>,
    pub status: Patch<StatusName>,
}

/// A status as a write sets it; each face maps its own names onto it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusName {
    Open,
    Completed,
}

impl From<StatusName> for Status {
    fn from(name: StatusName) -> Self {
        match name {
            StatusName::Open => Status::Open,
            StatusName::Completed => Status::Completed,
        }
    }
}

/// Parses `?status=` text.
///
/// # Errors
/// `Validation` on `status`.
pub fn parse_status(text: &str) -> Result<Status, AppError> {
    match text {
        "open" => Ok(Status::Open),
        "completed" => Ok(Status::Completed),
        _ => Err(AppError::field("status", "must be open or completed")),
    }
}

pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Open => "open",
        Status::Completed => "completed",
    }
}

#[derive(Validate)]
struct TodoRules {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    title: Option<String>,
}

/// How todos are listed (docs/API.md §3.1).
pub static SPEC: Spec<todo::Column> = Spec {
    sorts: &[
        Sortable::new("title", todo::Column::Title, Kind::Text),
        Sortable::new("status", todo::Column::Status, Kind::Text),
        Sortable::new("created_at", todo::Column::CreatedAt, Kind::Time),
        Sortable::new("updated_at", todo::Column::UpdatedAt, Kind::Time),
        Sortable::nullable("completed_at", todo::Column::CompletedAt, Kind::Time),
        Sortable::new("id", todo::Column::Id, Kind::Int),
    ],
    search: &[todo::Column::Title],
    id: todo::Column::Id,
    created_at: todo::Column::CreatedAt,
    price: None,
};

/// One page of the caller's todos. The request is checked after the
/// caller: without a token the answer is 401 whatever the parameters.
///
/// # Errors
/// `Unauthenticated`, then the request's own errors, then database errors.
pub async fn list(
    state: &AppState,
    viewer: Option<&Viewer>,
    request: Result<ListRequest, AppError>,
) -> Result<ListPage<todo::Model>, AppError> {
    let db = &state.db;
    let viewer = require_user(viewer)?;
    let request = request?;
    let mut select = todo::Entity::find().filter(todo::Column::OwnerId.eq(viewer.user_id));
    if let Some(status) = request.filter.status.as_deref().map(parse_status).transpose()? {
        select = select.filter(todo::Column::Status.eq(status));
    }
    let select = request.filtered(&SPEC, select, db.get_database_backend());
    let total = if request.count { Some(select.clone().count(db).await?) } else { None };
    let rows = request.apply(&SPEC, select).all(db).await?;
    Ok(request.page(&SPEC, rows, |row| row, |t| t.id, total))
}

/// # Errors
/// `Unauthenticated`; `NotFound` when the todo is missing or someone else's.
pub async fn get(state: &AppState, viewer: Option<&Viewer>, id: i32) -> Result<todo::Model, AppError> {
    let db = &state.db;
    static OWN_BY_ID: LazyLock<CachedStatement> = LazyLock::new(|| {
        CachedStatement::new(&todo::Entity::find_by_id(0).filter(todo::Column::OwnerId.eq(0)))
    });
    let viewer = require_user(viewer)?;
    OWN_BY_ID
        .one::<SelectModel<todo::Model>>(db, vec![id.into(), viewer.user_id.into()])
        .await?
        .ok_or_else(|| AppError::not_found("todo", id))
}

/// # Errors
/// `Unauthenticated`, `Validation`.
pub async fn create(
    state: &AppState,
    viewer: Option<&Viewer>,
    input: TodoInput,
) -> Result<todo::Model, AppError> {
    let owner = require_user(viewer)?.user_id;
    let mut errors = FieldErrors::default();
    let title = trimmed(errors.required("title", input.title, WriteMode::Full, None));
    let status = status_of(&mut errors, input.status).unwrap_or(Status::Open);
    errors.extend_validation(TodoRules { title: title.clone() }.validate());
    errors.into_result()?;
    let now = time::now();
    let model = todo::ActiveModel {
        owner_id: Set(owner),
        title: Set(title.unwrap_or_default()),
        status: Set(status),
        completed_at: Set((status == Status::Completed).then_some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let created = {
        let _turn = state.writes.turn().await;
        model.insert(&state.db).await?
    };
    state.events.publish(Change::Todo { kind: ChangeKind::Created, todo: created.clone() });
    Ok(created)
}

/// PATCH: completing sets `completed_at`; reopening clears it. `expect`
/// is checked against the todo as it is in the write's transaction.
///
/// # Errors
/// `Unauthenticated`, `NotFound` (missing or someone else's), `PreconditionFailed`, `Validation`.
pub async fn update(
    state: &AppState,
    viewer: Option<&Viewer>,
    id: i32,
    input: TodoInput,
    expect: &Expect<'_, todo::Model>,
) -> Result<todo::Model, AppError> {
    let owner = require_user(viewer)?.user_id;
    let (_turn, txn) = begin_write(state).await?;
    let current = locked(&txn, owner, id).await?;
    expect.check(&current)?;
    let mut errors = FieldErrors::default();
    let title =
        trimmed(errors.required("title", input.title, WriteMode::Partial, Some(current.title.clone())));
    let status = status_of(&mut errors, input.status).unwrap_or(current.status);
    errors.extend_validation(TodoRules { title: title.clone() }.validate());
    errors.into_result()?;
    let now = time::now();
    let completed_at = match (current.status, status) {
        (Status::Open, Status::Completed) => Some(now),
        (Status::Completed, Status::Completed) => current.completed_at,
        (_, Status::Open) => None,
    };
    let mut model: todo::ActiveModel = current.into();
    model.title = Set(title.unwrap_or_default());
    model.status = Set(status);
    model.completed_at = Set(completed_at);
    model.updated_at = Set(now);
    let updated = model.update(&txn).await?;
    txn.commit().await?;
    state.events.publish(Change::Todo { kind: ChangeKind::Updated, todo: updated.clone() });
    Ok(updated)
}

/// # Errors
/// `Unauthenticated`, `NotFound` (missing or someone else's), `PreconditionFailed`.
pub async fn delete(
    state: &AppState,
    viewer: Option<&Viewer>,
    id: i32,
    expect: &Expect<'_, todo::Model>,
) -> Result<(), AppError> {
    let owner = require_user(viewer)?.user_id;
    let (_turn, txn) = begin_write(state).await?;
    // Read first (owner check included): subscribers are told what went.
    let existing = locked(&txn, owner, id).await?;
    expect.check(&existing)?;
    let result = todo::Entity::delete_many()
        .filter(todo::Column::Id.eq(id))
        .filter(todo::Column::OwnerId.eq(existing.owner_id))
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::not_found("todo", id));
    }
    txn.commit().await?;
    state.events.publish(Change::Todo { kind: ChangeKind::Deleted, todo: existing });
    Ok(())
}

/// The caller's todo, locked for the rest of `txn` (`FOR UPDATE` on
/// PostgreSQL; SQLite's write transaction already excludes other writers).
async fn locked(txn: &DatabaseTransaction, owner: i32, id: i32) -> Result<todo::Model, AppError> {
    todo::Entity::find_by_id(id)
        .filter(todo::Column::OwnerId.eq(owner))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| AppError::not_found("todo", id))
}

fn status_of(errors: &mut FieldErrors, patch: Patch<StatusName>) -> Option<Status> {
    match patch {
        Patch::Value(name) => Some(name.into()),
        Patch::Null => {
            errors.push("status", "must not be null");
            None
        }
        Patch::Absent => None,
    }
}

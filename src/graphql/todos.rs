//! `Todo`, `todos`, `todo`, and the todo mutations: the caller's own only.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object};
use entity::todo;

use super::connection::{PageArgs, Relay, common_filter, list_request, order_by, page_complexity, relay};
use super::context::{patch, row_id, row_or_null, state, viewer};
use super::scalars::{DateTime, DateTimeInput};
use crate::domain::Patch;
use crate::domain::listing::{Face, Filter, Parser};
use crate::domain::precondition::Expect;
use crate::domain::todos::{self, StatusName, TodoInput};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "TodoStatus")]
pub enum TodoStatus {
    Open,
    Completed,
}

impl From<TodoStatus> for StatusName {
    fn from(status: TodoStatus) -> Self {
        match status {
            TodoStatus::Open => Self::Open,
            TodoStatus::Completed => Self::Completed,
        }
    }
}

pub struct Todo(pub todo::Model);

#[Object]
impl Todo {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn status(&self) -> TodoStatus {
        match self.0.status {
            todos::TodoStatus::Open => TodoStatus::Open,
            todos::TodoStatus::Completed => TodoStatus::Completed,
        }
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }

    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(DateTime)
    }
}

#[derive(InputObject)]
pub struct CreateTodoInput {
    title: String,
    status: Option<TodoStatus>,
}

#[derive(InputObject)]
pub struct UpdateTodoInput {
    title: MaybeUndefined<String>,
    status: MaybeUndefined<TodoStatus>,
}

order_by!(TodoOrderField, TodoOrder, {
    Title => "title", Status => "status", CreatedAt => "created_at", UpdatedAt => "updated_at",
    CompletedAt => "completed_at", Id => "id",
});

/// Narrows `todos`: every given condition must hold.
#[derive(InputObject, Default)]
pub struct TodoFilter {
    /// Case-insensitive substring of the title (at most 100 characters).
    q: Option<String>,
    status: Option<TodoStatus>,
    /// Exclusive.
    created_after: Option<DateTimeInput>,
    /// Exclusive.
    created_before: Option<DateTimeInput>,
}

#[derive(Default)]
pub struct TodoQuery;

#[Object]
impl TodoQuery {
    /// The caller's todos, one page: by ascending id unless `orderBy` says
    /// otherwise, narrowed by `status` and `filter` (`first`/`last` 1–100,
    /// default 20).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn todos(
        &self,
        ctx: &Context<'_>,
        status: Option<TodoStatus>,
        filter: Option<TodoFilter>,
        order_by: Option<TodoOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Relay<Todo>> {
        let mut parser = Parser::new(Face::Graphql);
        let f = filter.unwrap_or_default();
        let status = f.status.or(status).map(|s| todos::status_name(StatusName::from(s).into()).to_string());
        let filter = Filter { status, ..common_filter(&mut parser, f.q, f.created_after, f.created_before) };
        let order = order_by.as_ref().map(TodoOrder::pair);
        let page_args = PageArgs { first, after, last, before };
        let request = list_request(ctx, parser, &todos::SPEC, order, filter, page_args);
        let page = todos::list(state(ctx), viewer(ctx), request).await?;
        Ok(relay(page, Todo))
    }

    /// One of the caller's todos; null when missing or someone else's.
    async fn todo(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Todo>> {
        Ok(row_or_null(&id, |id| todos::get(state(ctx), viewer(ctx), id)).await?.map(Todo))
    }
}

#[derive(Default)]
pub struct TodoMutation;

#[Object]
impl TodoMutation {
    async fn create_todo(&self, ctx: &Context<'_>, input: CreateTodoInput) -> async_graphql::Result<Todo> {
        let input = TodoInput {
            title: Patch::Value(input.title),
            status: Patch::from_option(input.status.map(StatusName::from)),
        };
        Ok(Todo(todos::create(state(ctx), viewer(ctx), input).await?))
    }

    /// Completing sets `completedAt`; reopening clears it.
    async fn update_todo(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateTodoInput,
    ) -> async_graphql::Result<Todo> {
        let id = row_id(&id, "todo")?;
        let input =
            TodoInput { title: patch(input.title), status: patch(input.status).map(StatusName::from) };
        Ok(Todo(todos::update(state(ctx), viewer(ctx), id, input, &Expect::Anything).await?))
    }

    async fn delete_todo(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let id = row_id(&id, "todo")?;
        todos::delete(state(ctx), viewer(ctx), id, &Expect::Anything).await?;
        Ok(true)
    }
}

//! The GraphQL rendering of domain errors: `extensions.code` with the same
//! vocabulary as REST's problem `code`, and `extensions.fields` for invalid
//! input, named in camelCase as GraphQL inputs are (docs/API.md §4).

use async_graphql::ErrorExtensions;

use crate::domain::error::{AppError, FieldError};
use crate::domain::listing::snake_to_camel;

impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        error.log();
        let code = error.code();
        let fields = match &error {
            AppError::Validation(errors) => Some(
                errors
                    .iter()
                    .map(|e| FieldError::new(snake_to_camel(&e.field), e.message.clone()))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        let message = match &fields {
            Some(fields) => {
                let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                format!("invalid input: {}", names.join(", "))
            }
            None => error.detail(),
        };
        async_graphql::Error::new(message).extend_with(|_, extensions| {
            extensions.set("code", code);
            if let Some(fields) = &fields {
                let list: Vec<async_graphql::Value> = fields
                    .iter()
                    .map(|f| {
                        let mut map = async_graphql::indexmap::IndexMap::new();
                        map.insert(async_graphql::Name::new("field"), f.field.clone().into());
                        map.insert(async_graphql::Name::new("message"), f.message.clone().into());
                        async_graphql::Value::Object(map)
                    })
                    .collect();
                extensions.set("fields", list);
            }
        })
    }
}

//! The GraphQL rendering of domain errors: `extensions.code` with the same
//! vocabulary as REST's problem `code`, and `extensions.fields` for invalid
//! input, named in camelCase as GraphQL inputs are (docs/API.md §4).

use async_graphql::ErrorExtensions;

use crate::domain::error::{AppError, FieldError};

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

/// REST speaks snake_case, GraphQL camelCase; field errors follow each face.
pub fn snake_to_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_become_camel_case() {
        assert_eq!(snake_to_camel("store_id"), "storeId");
        assert_eq!(snake_to_camel("capacity_per_month"), "capacityPerMonth");
        assert_eq!(snake_to_camel("name"), "name");
    }
}

//! Input plumbing shared by every resource: the three states of a field in
//! a write (absent, null, value) and the collection of field errors.

use serde::{Deserialize, Deserializer};
use validator::ValidationErrors;

use crate::domain::error::{AppError, FieldError};

/// A field of a create/replace/update input. PATCH changes only the fields
/// present; `null` clears an optional field and is refused for a required one.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Patch<T> {
    pub fn from_option(value: Option<T>) -> Self {
        value.map_or(Self::Absent, Self::Value)
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Self::Absent => Patch::Absent,
            Self::Null => Patch::Null,
            Self::Value(v) => Patch::Value(f(v)),
        }
    }
}

impl<T> From<Option<Option<T>>> for Patch<T> {
    fn from(value: Option<Option<T>>) -> Self {
        match value {
            None => Self::Absent,
            Some(None) => Self::Null,
            Some(Some(v)) => Self::Value(v),
        }
    }
}

/// With `#[serde(default)]` on the field, an absent key stays `Absent`.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(|v| v.map_or(Self::Null, Self::Value))
    }
}

/// Whether a write must provide every required field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// POST and PUT: the whole resource.
    Full,
    /// PATCH: only the fields present.
    Partial,
}

/// Collects every field error of one input, so a client sees all at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Merges the errors of a `validator` derive, in field order of `order`.
    pub fn extend_validation(&mut self, result: Result<(), ValidationErrors>) {
        let Err(errors) = result else { return };
        let mut found: Vec<FieldError> = errors
            .field_errors()
            .into_iter()
            .flat_map(|(field, list)| {
                list.iter().map(move |e| {
                    FieldError::new(
                        field.to_string(),
                        e.message.as_deref().unwrap_or("is invalid").to_string(),
                    )
                })
            })
            .collect();
        found.sort_by(|a, b| a.field.cmp(&b.field));
        self.0.extend(found);
    }

    /// Resolves a required field: missing under `Full`, or `null`, is an
    /// error; under `Partial` an absent field falls back to `current`.
    pub fn required<T>(
        &mut self,
        field: &str,
        patch: Patch<T>,
        mode: WriteMode,
        current: Option<T>,
    ) -> Option<T> {
        match patch {
            Patch::Value(v) => Some(v),
            Patch::Null => {
                self.push(field, "must not be null");
                None
            }
            Patch::Absent => match (mode, current) {
                (WriteMode::Partial, Some(current)) => Some(current),
                _ => {
                    self.push(field, "is required");
                    None
                }
            },
        }
    }

    /// Resolves an optional (nullable) field: `null` clears it; absent keeps
    /// `current` under `Partial` and clears it under `Full` (PUT replaces).
    pub fn optional<T>(&mut self, patch: Patch<T>, mode: WriteMode, current: Option<T>) -> Option<T> {
        match (patch, mode) {
            (Patch::Value(v), _) => Some(v),
            (Patch::Null, _) | (Patch::Absent, WriteMode::Full) => None,
            (Patch::Absent, WriteMode::Partial) => current,
        }
    }

    /// # Errors
    /// `Validation` with every collected error, if there is any.
    pub fn into_result(mut self) -> Result<(), AppError> {
        if self.0.is_empty() {
            return Ok(());
        }
        // Stable, readable order: by field name, then as found.
        self.0.sort_by(|a, b| a.field.cmp(&b.field));
        Err(AppError::Validation(self.0))
    }
}

/// Trims a name-like string; lengths are then counted in characters.
pub fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Input {
        #[serde(default)]
        name: Patch<String>,
    }

    #[test]
    fn absent_null_and_value_are_distinguished() {
        let absent: Input = serde_json::from_str("{}").unwrap();
        let null: Input = serde_json::from_str(r#"{"name":null}"#).unwrap();
        let value: Input = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert_eq!(absent.name, Patch::Absent);
        assert_eq!(null.name, Patch::Null);
        assert_eq!(value.name, Patch::Value("x".to_string()));
    }

    #[test]
    fn required_fields_report_missing_and_null() {
        let mut errors = FieldErrors::default();
        assert_eq!(errors.required("a", Patch::<i32>::Absent, WriteMode::Full, Some(1)), None);
        assert_eq!(errors.required("b", Patch::<i32>::Null, WriteMode::Partial, Some(1)), None);
        assert_eq!(errors.required("c", Patch::<i32>::Absent, WriteMode::Partial, Some(1)), Some(1));
        let Err(AppError::Validation(list)) = errors.into_result() else { panic!("expected errors") };
        assert_eq!(list, vec![FieldError::new("a", "is required"), FieldError::new("b", "must not be null")]);
    }
}

//! The cost model (docs/API.md §4): a document's cost bounds the size of its
//! answer, and a document over the budget is refused before anything runs.
//!
//! Every field costs one plus what it selects, except a list, which costs
//! its bound times what each element selects (plus one): a connection's
//! `first`, a plain list's own `first`. Since every list is cut to its
//! bound and every field but `__typename` is paid for wherever it lands, a
//! cost of N means an answer of at most N objects and fields (and one
//! `__typename` per object, see below). Aliases are separate selections
//! and each is paid for.
//!
//! The schemas that serve HTTP enforce the budget with async-graphql's own
//! `limit_complexity`, which keeps its fast path: any `Extension` makes
//! every field of every answer go through the extension chain (a
//! `ResolveInfo` and a boxed future per field and per list element). Its
//! refusal says only "Query is too complex.", so a refused document is
//! priced again on [`costed`](super::Schemas::costed), whose [`CostLimit`]
//! extension reads the cost from validation and answers with the numbers.
//! That second validation happens only for refused documents, and nothing
//! of theirs runs in either.
//!
//! Two things the cost cannot see are checked first, in one linear walk
//! of the document ([`check_shape`]): async-graphql spreads fragments
//! anew at every use when it checks depth and prices a document, so
//! twenty fragments that each spread the next twice (a 1 KiB document)
//! took over a minute of CPU in a debug build before any limit answered,
//! twice as long with each more; and `__typename` costs nothing, so a
//! thousand aliases of it in a list of 100 would answer a hundred thousand
//! values for a cost of 101.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, Response, ServerError, ServerResult, ValidationResult};

use super::AppSchema;
use crate::domain::error::AppError;

/// The most a document may cost: an answer of at most 10,000 fields.
///
/// A page of 100 products with every product and factory field costs
/// 2,101; the README's `stores { nodes { id name items { name
/// price } } }` 4,081 (20 stores of up to 100 items); a page of 50
/// factories with up to 100 products each 5,101. A page of 100 factories
/// with their products (10,201) must be split, and ten of them in one
/// document (102,010) or a product's factory's products three levels down
/// (about 10^6) are refused.
pub const BUDGET: usize = 10_000;

/// The price of a field that hashes a password (`login`, `signup`, a
/// password change): a third of the budget and one more, so a document
/// holds at most two of them. argon2id takes ~19 MiB and tens of
/// milliseconds per hash; without a price, one document could ask for
/// hundreds.
pub const PASSWORD_HASH_COST: usize = BUDGET / 3 + 1;
const _: () = assert!(2 * PASSWORD_HASH_COST < BUDGET && 3 * PASSWORD_HASH_COST > BUDGET);

/// The most field selections a document may make once its fragments are
/// spread. Every selection but `__typename` costs at least one wherever it
/// is, and a selection set holds at most one `__typename`, so a document
/// within the budget makes at most twice the budget of them: this limit
/// refuses only documents the budget would refuse, before async-graphql's
/// checks spread their fragments.
pub const MAX_SELECTIONS: usize = 2 * BUDGET + 1;

/// The default and the largest `first` of a plain list (`Store.items`,
/// `Factory.products`).
pub const PLAIN_LIST_MAX: i32 = 100;

/// No field costs more than this: async-graphql adds field costs up
/// without checking for overflow, and a document 32 levels deep (deeper
/// than the depth limit, which is checked after the cost) would otherwise
/// multiply past `usize::MAX`.
const CEILING: usize = u32::MAX as usize;

/// The cost of a list of at most `bound` elements that each cost `child`.
pub fn list(bound: usize, child: usize) -> usize {
    bound.saturating_mul(child.max(1)).saturating_add(1).min(CEILING)
}

/// The cost of a list field whose `first` argument bounds it: `first`
/// (`default` when null) held to 1..=100. A value outside that range is
/// refused by the resolver, so pricing it as the nearest valid one is safe.
pub fn bounded_list(first: Option<i32>, default: i32, child: usize) -> usize {
    let bound = first.unwrap_or(default).clamp(1, PLAIN_LIST_MAX);
    list(usize::try_from(bound).unwrap_or(1), child)
}

/// What async-graphql answers for a document over `limit_complexity`.
const TOO_COMPLEX: &str = "Query is too complex.";

/// Runs `request` on `schema` (which enforces a complexity limit itself);
/// a document it refuses as too complex is priced on `costed` and, when
/// over [`BUDGET`], answered with its cost and the budget instead (under
/// it, `schema`'s own limit was lower: the introspection schema's).
pub async fn execute(schema: &AppSchema, costed: &AppSchema, mut request: Request) -> Response {
    if let Ok(document) = request.parsed_query()
        && let Err(error) = check_shape(document)
    {
        return Response::from_errors(vec![error]);
    }
    // The parts needed to price the document again; the request's data
    // (viewer, loaders) stays behind, as nothing of it will run.
    let again = Request::new(request.query.clone()).variables(request.variables.clone()).data(PriceOnly);
    let again = match &request.operation_name {
        Some(name) => again.operation_name(name.clone()),
        None => again,
    };
    let response = schema.execute(request).await;
    if !is_too_complex(&response) {
        return response;
    }
    let priced = costed.execute(again).await;
    if priced.errors.is_empty() { response } else { priced }
}

fn is_too_complex(response: &Response) -> bool {
    matches!(response.data, async_graphql::Value::Null)
        && response.errors.len() == 1
        && response.errors[0].path.is_empty()
        && response.errors[0].message == TOO_COMPLEX
}

/// The refusal of a document that costs `cost`.
fn over_budget(cost: usize) -> ServerError {
    bad_request(format!(
        "the document costs {cost}, over the budget of {BUDGET}: ask for fewer rows (`first`) or fewer \
         fields; a list costs its `first` times its fields, a login, signup or password change {PASSWORD_HASH_COST}"
    ))
}

/// An error of the document as a whole, `extensions.code` `BAD_REQUEST`.
fn bad_request(message: String) -> ServerError {
    let error: async_graphql::Error = AppError::BadRequest(message).into();
    ServerError { extensions: error.extensions, ..ServerError::new(error.message, None) }
}

/// Refuses a document that selects more than [`MAX_SELECTIONS`] fields
/// once its fragments are spread, a fragment that spreads itself, or a
/// selection set that asks for `__typename` under two names. Linear in the
/// document's length: each fragment is walked once.
///
/// # Errors
/// `BAD_REQUEST` saying which.
pub fn check_shape(document: &ExecutableDocument) -> ServerResult<()> {
    let mut walk = Walk { document, fragments: HashMap::new(), total: 0 };
    for (_, operation) in document.operations.iter() {
        let shape = walk.set(&operation.node.selection_set.node)?;
        walk.total = walk.total.saturating_add(shape.selections);
        if walk.total > MAX_SELECTIONS {
            return Err(too_many_selections());
        }
    }
    Ok(())
}

fn too_many_selections() -> ServerError {
    bad_request(format!(
        "the document selects more than {MAX_SELECTIONS} fields once its fragments are spread: ask for \
         fewer fields"
    ))
}

/// What a selection set (or a fragment) adds where it is spread.
#[derive(Clone, Copy, Default)]
struct Shape<'a> {
    /// Field selections, its fragments spread.
    selections: usize,
    /// The response key it selects `__typename` under, if any.
    typename: Option<&'a str>,
}

enum Fragment<'a> {
    Walking,
    Walked(Shape<'a>),
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    fragments: HashMap<&'a str, Fragment<'a>>,
    /// Selections of the operations walked so far.
    total: usize,
}

impl<'a> Walk<'a> {
    fn set(&mut self, set: &'a SelectionSet) -> ServerResult<Shape<'a>> {
        let mut shape = Shape::default();
        for selection in &set.items {
            let (selections, typename) = match &selection.node {
                Selection::Field(field) if field.node.name.node == "__typename" => {
                    (1, Some(field.node.response_key().node.as_str()))
                }
                Selection::Field(field) => {
                    (self.set(&field.node.selection_set.node)?.selections.saturating_add(1), None)
                }
                Selection::FragmentSpread(spread) => {
                    let inner = self.fragment(spread.node.fragment_name.node.as_str())?;
                    (inner.selections, inner.typename)
                }
                Selection::InlineFragment(inline) => {
                    let inner = self.set(&inline.node.selection_set.node)?;
                    (inner.selections, inner.typename)
                }
            };
            shape.selections = shape.selections.saturating_add(selections);
            if self.total.saturating_add(shape.selections) > MAX_SELECTIONS {
                return Err(too_many_selections());
            }
            match (shape.typename, typename) {
                (Some(first), Some(second)) if first != second => {
                    return Err(bad_request(format!(
                        "a selection set asks for `__typename` as both `{first}` and `{second}`: ask for \
                         it once (it costs nothing, so it may not multiply the answer)"
                    )));
                }
                (None, Some(key)) => shape.typename = Some(key),
                _ => {}
            }
        }
        Ok(shape)
    }

    /// A fragment's shape, walked at its first spread only. An unknown
    /// fragment adds nothing here; validation reports it.
    fn fragment(&mut self, name: &'a str) -> ServerResult<Shape<'a>> {
        match self.fragments.get(name) {
            Some(Fragment::Walked(shape)) => return Ok(*shape),
            Some(Fragment::Walking) => {
                return Err(bad_request(format!("the fragment `{name}` spreads itself")));
            }
            None => {}
        }
        let Some(definition) = self.document.fragments.get(name) else { return Ok(Shape::default()) };
        self.fragments.insert(name, Fragment::Walking);
        let shape = self.set(&definition.node.selection_set.node)?;
        self.fragments.insert(name, Fragment::Walked(shape));
        Ok(shape)
    }
}

/// Request data that makes [`CostLimit`] refuse the document whatever it
/// costs, without an error when it is within the budget: set on a
/// document being priced again, which must never run.
struct PriceOnly;

/// Refuses, at validation, a document over [`BUDGET`] with its cost and
/// the budget (`extensions.code` `BAD_REQUEST`).
pub struct CostLimit;

impl ExtensionFactory for CostLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostLimit)
    }
}

#[async_trait::async_trait]
impl Extension for CostLimit {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // Parsed here, the document is not parsed again.
        if let Ok(document) = request.parsed_query() {
            check_shape(document)?;
        }
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if result.complexity > BUDGET {
            return Err(vec![over_budget(result.complexity)]);
        }
        if ctx.data_opt::<PriceOnly>().is_some() {
            return Err(Vec::new());
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_cost_their_bound_times_their_elements() {
        assert_eq!(list(100, 3), 301);
        assert_eq!(list(20, 0), 21, "an element costs at least one");
        assert_eq!(bounded_list(None, 20, 2), 41);
        assert_eq!(bounded_list(Some(5), 100, 2), 11);
        assert_eq!(bounded_list(Some(1_000), 100, 1), 101, "refused by the resolver; priced at the most");
        assert_eq!(bounded_list(Some(-3), 100, 1), 2);
        assert_eq!(list(usize::MAX, usize::MAX), CEILING);
    }

    /// Every field of the schema as async-graphql registers it (the
    /// registry is what validation prices documents with).
    fn registry() -> async_graphql::registry::Registry {
        use async_graphql::registry::Registry;
        use async_graphql::{OutputType, SubscriptionType};

        let mut registry = Registry {
            types: Default::default(),
            directives: Default::default(),
            implements: Default::default(),
            query_type: "Query".into(),
            mutation_type: Some("Mutation".into()),
            subscription_type: Some("Subscription".into()),
            introspection_mode: async_graphql::IntrospectionMode::Enabled,
            enable_federation: false,
            federation_subscription: false,
            ignore_name_conflicts: ["DateTime".to_owned()].into(),
            enable_suggestions: true,
        };
        super::super::Query::create_type_info(&mut registry);
        super::super::Mutation::create_type_info(&mut registry);
        super::super::subscriptions::Subscription::create_type_info(&mut registry);
        registry
    }

    /// A new list of objects without a bound would let one document ask
    /// for an answer of any size: every such field computes its cost. The
    /// one exception is a connection's `edges` and `nodes`, which its
    /// parent field, itself priced, bounds by `first`.
    #[test]
    fn every_list_of_objects_computes_its_cost() {
        use async_graphql::registry::{MetaType, MetaTypeName};

        let registry = registry();
        // The types a document can reach (the registry also holds the
        // parts `MergedObject` is made of).
        let mut reachable = std::collections::BTreeSet::new();
        let mut next = vec!["Query", "Mutation", "Subscription"];
        while let Some(name) = next.pop() {
            if name.starts_with("__") || !reachable.insert(name) {
                continue; // introspection: as large as the schema, no larger
            }
            if let Some(MetaType::Object { fields, .. }) = registry.types.get(name) {
                next.extend(fields.values().map(|f| MetaTypeName::concrete_typename(&f.ty)));
            }
        }
        let mut lists = Vec::new();
        let mut connections = Vec::new();
        for type_name in reachable {
            let Some(MetaType::Object { fields, .. }) = registry.types.get(type_name) else { continue };
            for field in fields.values() {
                let returns = MetaTypeName::concrete_typename(&field.ty);
                let of_objects = registry.types.get(returns).is_some_and(MetaType::is_composite);
                let place = format!("{type_name}.{}: {}", field.name, field.ty);
                if returns.ends_with("Connection") {
                    assert!(field.compute_complexity.is_some(), "{place} is not priced by `first`");
                    connections.push(place);
                } else if of_objects && MetaTypeName::create(&field.ty).is_list() {
                    let paged =
                        type_name.ends_with("Connection") && ["edges", "nodes"].contains(&&*field.name);
                    assert!(paged || field.compute_complexity.is_some(), "{place} is an unbounded list");
                    if !paged {
                        lists.push(place);
                    }
                }
            }
        }
        lists.sort();
        assert_eq!(lists, ["Factory.products: [Product!]!", "Store.items: [Item!]!"]);
        assert_eq!(connections.len(), 5, "{connections:?}");
    }

    #[test]
    fn password_hashing_fields_are_priced() {
        let registry = registry();
        let async_graphql::registry::MetaType::Object { fields, .. } = &registry.types["Mutation"] else {
            panic!("Mutation is an object");
        };
        for name in ["login", "signup"] {
            assert!(fields[name].compute_complexity.is_some(), "{name}");
        }
    }

    fn shape(document: &str) -> Result<(), String> {
        let document = async_graphql::parser::parse_query(document).expect("parses");
        check_shape(&document).map_err(|error| error.message)
    }

    #[test]
    fn shapes_are_walked_once_per_fragment() {
        // 2^40 selections if spread at every use: refused, at once.
        let mut bomb = String::from("{ ...F0 }");
        for level in 0..40 {
            bomb.push_str(&format!(
                " fragment F{level} on Query {{ ...F{next} ...F{next} }}",
                next = level + 1
            ));
        }
        bomb.push_str(" fragment F40 on Query { me { id } }");
        assert!(shape(&bomb).unwrap_err().contains("more than 20001 fields"));

        assert_eq!(
            shape("{ a { ...A } } fragment A on T { b { c { ...A } } }").unwrap_err(),
            "the fragment `A` spreads itself"
        );
        assert!(shape("{ ...Missing a }").is_ok(), "validation reports unknown fragments");

        // The limit counts every operation of the document.
        let half = format!(
            "{{ {} }}",
            (0..MAX_SELECTIONS / 2 + 1).map(|n| format!("f{n}")).collect::<Vec<_>>().join(" ")
        );
        assert!(shape(&half).is_ok());
        assert!(shape(&format!("query A {half} query B {half}")).is_err());
    }

    #[test]
    fn typename_has_one_response_key_per_selection_set() {
        assert!(shape("{ __typename a { __typename b: __typename } }").is_err());
        assert!(
            shape("{ a { __typename ... on A { __typename } ...F } } fragment F on A { __typename }").is_ok()
        );
        assert!(shape("{ a { kind: __typename b { kind: __typename } } }").is_ok(), "one per set");
        let message = shape("{ a { x: __typename ... on A { y: __typename } } }").unwrap_err();
        assert!(
            message.starts_with("a selection set asks for `__typename` as both `x` and `y`"),
            "{message}"
        );
        assert!(
            shape("{ a { ...X ...Y } } fragment X on A { x: __typename } fragment Y on A { __typename }")
                .is_err()
        );
    }
}

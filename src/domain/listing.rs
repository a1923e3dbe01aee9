//! Querying lists (docs/API.md §3.1): sort, search, filters, counts and
//! keyset cursors in both directions. One builder serves both faces: REST
//! and GraphQL only turn their parameters into a [`ListRequest`] through a
//! [`Parser`] (which names fields the way the face does) and shape the
//! [`ListPage`] that comes back.
//!
//! A page is one statement whatever the sort and filters (plus one `COUNT`
//! when asked): `WHERE <filters> AND (key, id) > (cursor key, cursor id)
//! ORDER BY key, id LIMIT n + 1`, which an index on `(key, id)` serves.
//! A cursor carries the sort, a fingerprint of the filters, the row's key
//! and id, and (for REST, where one parameter walks both ways) a direction.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use sea_orm::sea_query::extension::postgres::PgBinOper;
use sea_orm::sea_query::{BinOper, Expr, ExprTrait, Func, Iden, LikeExpr, NullOrdering, Order};
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, ModelTrait, QueryFilter, QueryOrder, QuerySelect, Select, Value,
};

use crate::domain::error::AppError;
use crate::domain::input::FieldErrors;
use crate::domain::money::Money;
use crate::domain::pagination::{DEFAULT_LIMIT, MAX_LIMIT};

/// The longest `q` accepted, in characters.
pub const MAX_Q: usize = 100;
const CURSOR_PREFIX: &str = "sg2";

/// `store_id` → `storeId`: GraphQL's name for a field the domain names in
/// snake_case.
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

/// Which face is asking: it decides how fields are named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    Rest,
    Graphql,
}

impl Face {
    /// `price_max` in REST, `priceMax` in GraphQL.
    pub fn field(self, snake: &str) -> String {
        match self {
            Self::Rest => snake.to_string(),
            Self::Graphql => snake_to_camel(snake),
        }
    }
}

/// The type of a sort key, so that a cursor's key is checked before it
/// reaches the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Time,
}

/// A column a collection may be sorted by.
#[derive(Debug, Clone, Copy)]
pub struct Sortable<C: 'static> {
    pub name: &'static str,
    pub column: C,
    pub kind: Kind,
    pub nullable: bool,
}

impl<C> Sortable<C> {
    pub const fn new(name: &'static str, column: C, kind: Kind) -> Self {
        Self { name, column, kind, nullable: false }
    }

    pub const fn nullable(name: &'static str, column: C, kind: Kind) -> Self {
        Self { name, column, kind, nullable: true }
    }
}

/// What a collection offers: its sortable columns (`id` among them), the
/// columns `q` searches, and the columns of the common filters.
#[derive(Debug)]
pub struct Spec<C: 'static> {
    pub sorts: &'static [Sortable<C>],
    /// On PostgreSQL a collection that searches more than one column
    /// searches their stored join, `search_text`, which a migration must
    /// add (see m20261208_000001).
    pub search: &'static [C],
    pub id: C,
    pub created_at: C,
    pub price: Option<C>,
}

impl<C> Spec<C> {
    /// The names `sort` accepts, ascending.
    pub fn sort_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.sorts.iter().map(|s| s.name)
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.sorts.iter().position(|s| s.name == name)
    }
}

/// The filters of a list; each collection reads the ones it has.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub q: Option<String>,
    /// Cents, inclusive.
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    /// Exclusive.
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub store_id: Option<i32>,
    pub factory_id: Option<i32>,
    pub status: Option<String>,
    pub country: Option<String>,
    pub certification: Option<String>,
}

impl Filter {
    /// A short digest of the filters, kept in cursors so that a cursor is
    /// not reused with other filters (FNV-1a; not a secret, only a check).
    fn fingerprint(&self) -> String {
        let text = format!("{self:?}");
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in text.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Null,
    Int(i64),
    Text(String),
    Time(DateTime<Utc>),
}

impl Key {
    fn from_value(value: Value) -> Self {
        match value {
            Value::String(Some(s)) => Self::Text(s),
            Value::TinyInt(Some(n)) => Self::Int(n.into()),
            Value::SmallInt(Some(n)) => Self::Int(n.into()),
            Value::Int(Some(n)) => Self::Int(n.into()),
            Value::BigInt(Some(n)) => Self::Int(n),
            Value::ChronoDateTimeUtc(Some(t)) => Self::Time(t),
            _ => Self::Null,
        }
    }

    fn encode(&self) -> String {
        match self {
            Self::Null => "n".into(),
            Self::Int(n) => format!("i{n}"),
            Self::Text(s) => format!("s{s}"),
            Self::Time(t) => format!("t{}", t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }

    fn decode(text: &str, kind: Kind, nullable: bool) -> Option<Self> {
        let (tag, rest) = text.split_at_checked(1)?;
        match (tag, kind) {
            ("n", _) if nullable && rest.is_empty() => Some(Self::Null),
            ("i", Kind::Int) => rest.parse().ok().map(Self::Int),
            ("s", Kind::Text) => Some(Self::Text(rest.to_string())),
            ("t", Kind::Time) => DateTime::parse_from_rfc3339(rest).ok().map(|t| Self::Time(t.to_utc())),
            _ => None,
        }
    }

    fn into_value(self) -> Value {
        match self {
            Self::Null => Value::Int(None),
            Self::Int(n) => n.into(),
            Self::Text(s) => s.into(),
            Self::Time(t) => t.into(),
        }
    }
}

/// Where a cursor points: just after (or before) the row with this key and id.
#[derive(Debug, Clone, PartialEq)]
struct Position {
    key: Key,
    id: i32,
}

/// A cursor as issued: `sg2:<a|b>:<sort>:<fingerprint>:<id>:<key>`.
fn encode_cursor(backward: bool, sort: &str, fingerprint: &str, position: &Position) -> String {
    let dir = if backward { 'b' } else { 'a' };
    let text =
        format!("{CURSOR_PREFIX}:{dir}:{sort}:{fingerprint}:{}:{}", position.id, position.key.encode());
    URL_SAFE_NO_PAD.encode(text)
}

struct Decoded {
    backward: bool,
    sort: String,
    fingerprint: String,
    id: i32,
    key: String,
}

fn decode_cursor(cursor: &str) -> Option<Decoded> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(6, ':');
    if parts.next()? != CURSOR_PREFIX {
        return None;
    }
    let backward = match parts.next()? {
        "a" => false,
        "b" => true,
        _ => return None,
    };
    let sort = parts.next()?.to_string();
    let fingerprint = parts.next()?.to_string();
    let id: i32 = parts.next()?.parse().ok()?;
    let key = parts.next()?.to_string();
    (id >= 0).then_some(Decoded { backward, sort, fingerprint, id, key })
}

/// Collects every problem with a list's parameters, named as the face
/// names them, so that all of them are reported at once.
#[derive(Debug)]
pub struct Parser {
    face: Face,
    errors: FieldErrors,
}

/// The page part of a request: its size and cursor, as the face names them.
#[derive(Debug, Clone, Copy)]
pub struct PageArgs<'a> {
    pub limit: u64,
    pub cursor: Option<&'a str>,
    /// The name of the cursor parameter (`cursor`, `after`, `before`).
    pub cursor_field: &'static str,
    /// `Some` when the face says which way to walk (GraphQL `last`/
    /// `before`); `None` when the cursor says (REST).
    pub backward: Option<bool>,
}

impl Parser {
    pub fn new(face: Face) -> Self {
        Self { face, errors: FieldErrors::default() }
    }

    pub fn face(&self) -> Face {
        self.face
    }

    /// Records a problem with `snake` (named as the face names it).
    pub fn error(&mut self, snake: &str, message: impl Into<String>) {
        let field = self.face.field(snake);
        self.errors.push(&field, message);
    }

    /// Records a problem with a field already named as the face names it.
    pub fn error_raw(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(field, message);
    }

    /// A page size: 1 to 100, 20 when absent.
    pub fn limit(&mut self, field: &str, value: Option<i64>) -> u64 {
        match value {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as u64,
            Some(_) => {
                self.error_raw(field, limit_message());
                DEFAULT_LIMIT
            }
        }
    }

    /// A page size from query-string text.
    pub fn limit_text(&mut self, field: &str, text: Option<&str>) -> u64 {
        match text.map(str::parse::<i64>) {
            None => DEFAULT_LIMIT,
            Some(Ok(n)) => self.limit(field, Some(n)),
            Some(Err(_)) => {
                self.error_raw(field, limit_message());
                DEFAULT_LIMIT
            }
        }
    }

    /// `q`: at most 100 characters; empty means no search.
    pub fn q(&mut self, q: Option<String>) -> Option<String> {
        let q = q?;
        if q.chars().count() > MAX_Q {
            self.error("q", format!("must be at most {MAX_Q} characters"));
            return None;
        }
        // PostgreSQL text cannot hold NUL; refused alike on every engine.
        if q.contains('\0') {
            self.error("q", "must not contain NUL characters");
            return None;
        }
        (!q.is_empty()).then_some(q)
    }

    /// A price bound in cents.
    pub fn price(&mut self, field: &str, value: Option<f64>) -> Option<i64> {
        let value = value?;
        if value < 0.0 {
            self.error(field, "must be at least 0");
            return None;
        }
        match Money::from_decimal(value) {
            Ok(money) => Some(money.cents()),
            Err(message) => {
                self.error(field, message);
                None
            }
        }
    }

    pub fn price_text(&mut self, field: &str, text: Option<&str>) -> Option<i64> {
        match text.map(str::parse::<f64>) {
            None => None,
            Some(Ok(value)) if value.is_finite() => self.price(field, Some(value)),
            Some(_) => {
                self.error(field, "must be a number");
                None
            }
        }
    }

    pub fn time_text(&mut self, field: &str, text: Option<&str>) -> Option<DateTime<Utc>> {
        let text = text?;
        self.time(field, Some(DateTime::parse_from_rfc3339(text).map(|t| t.to_utc()).map_err(|_| ())))
    }

    /// An instant as the face parsed it: `Err` when the text was not one.
    pub fn time<E>(
        &mut self,
        field: &str,
        parsed: Option<Result<DateTime<Utc>, E>>,
    ) -> Option<DateTime<Utc>> {
        match parsed? {
            // Both engines store years 1 to 9999 only (SQLite compares them
            // as text), and neither a leap second.
            Ok(t) if (1..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000 => Some(t),
            Ok(_) => {
                self.error(
                    field,
                    "must be an instant from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, without a leap second",
                );
                None
            }
            Err(_) => {
                self.error(field, "must be an RFC 3339 instant, such as 2026-12-07T12:00:00Z");
                None
            }
        }
    }

    pub fn id_text(&mut self, field: &str, text: Option<&str>) -> Option<i32> {
        match text.map(str::parse::<i32>) {
            None => None,
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => {
                self.error(field, "must be an integer id");
                None
            }
        }
    }

    pub fn bool_text(&mut self, field: &str, text: Option<&str>) -> bool {
        match text {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                self.error(field, "must be true or false");
                false
            }
        }
    }

    /// A REST `sort`: a sortable field, `-` in front for descending.
    pub fn sort_text<C>(&mut self, spec: &Spec<C>, text: Option<&str>) -> Option<(usize, bool)> {
        let text = text?;
        let (name, descending) = match text.strip_prefix('-') {
            Some(name) => (name, true),
            None => (text, false),
        };
        match spec.position(name) {
            Some(index) => Some((index, descending)),
            None => {
                let names: Vec<_> = spec.sort_names().collect();
                self.error(
                    "sort",
                    format!("must be one of {}, with `-` in front for descending", names.join(", ")),
                );
                None
            }
        }
    }

    /// A sort named by the face's own type (GraphQL `orderBy`).
    pub fn sort_named<C>(&mut self, spec: &Spec<C>, name: &str, descending: bool) -> Option<(usize, bool)> {
        match spec.position(name) {
            Some(index) => Some((index, descending)),
            None => {
                self.error("order_by", format!("cannot sort by {name}"));
                None
            }
        }
    }

    /// The request, or every problem found on the way.
    ///
    /// # Errors
    /// `Validation` naming every bad parameter.
    pub fn finish<C>(
        mut self,
        spec: &Spec<C>,
        sort: Option<(usize, bool)>,
        filter: Filter,
        page: PageArgs<'_>,
        count: bool,
    ) -> Result<ListRequest, AppError> {
        if let (Some(min), Some(max)) = (filter.price_min, filter.price_max)
            && min > max
        {
            self.error("price_max", "must not be below the minimum price");
        }
        if let (Some(after), Some(before)) = (filter.created_after, filter.created_before)
            && after >= before
        {
            self.error("created_before", "must be later than the lower bound");
        }
        let default_sort = spec.position("id").unwrap_or(0);
        let (sort, descending) = sort.unwrap_or((default_sort, false));
        let sort_name = sort_label(spec.sorts[sort].name, descending);
        let fingerprint = filter.fingerprint();
        let mut backward = page.backward.unwrap_or(false);
        let position = match page.cursor {
            None => None,
            Some(text) => match decode_cursor(text) {
                None => {
                    self.error_raw(page.cursor_field, "is not a cursor issued by this server");
                    None
                }
                Some(decoded) if decoded.sort != sort_name || decoded.fingerprint != fingerprint => {
                    self.error_raw(page.cursor_field, "was issued for another sort or other filters");
                    None
                }
                Some(decoded) => {
                    let sortable = &spec.sorts[sort];
                    match Key::decode(&decoded.key, sortable.kind, sortable.nullable) {
                        Some(key) => {
                            if page.backward.is_none() {
                                backward = decoded.backward;
                            }
                            Some(Position { key, id: decoded.id })
                        }
                        None => {
                            self.error_raw(page.cursor_field, "is not a cursor issued by this server");
                            None
                        }
                    }
                }
            },
        };
        self.errors.into_result()?;
        Ok(ListRequest {
            sort,
            descending,
            sort_name,
            fingerprint,
            filter,
            limit: page.limit,
            position,
            backward,
            count,
        })
    }
}

fn sort_label(name: &str, descending: bool) -> String {
    if descending { format!("-{name}") } else { name.to_string() }
}

pub fn limit_message() -> String {
    format!("must be an integer from 1 to {MAX_LIMIT}")
}

/// A checked list request: what to filter, how to sort, which page.
#[derive(Debug, Clone)]
pub struct ListRequest {
    sort: usize,
    descending: bool,
    sort_name: String,
    fingerprint: String,
    pub filter: Filter,
    pub limit: u64,
    position: Option<Position>,
    /// Walking towards the start: the rows before the cursor.
    pub backward: bool,
    /// Whether to count the rows matching the filters.
    pub count: bool,
}

/// `%text%` with LIKE's own characters escaped (by `\`).
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// `q` as a condition on `columns` of `table`: a case-insensitive substring
/// of any one of them.
fn search<C: ColumnTrait>(columns: &[C], q: &str, backend: DbBackend, table: impl Iden + 'static) -> Expr {
    let pattern = like_pattern(q);
    if backend == DbBackend::Postgres {
        // The pattern is written into the statement (quoted by sea-query)
        // rather than bound: a bound pattern lets PostgreSQL reuse a
        // generic plan that assumes a common word and walks the sort index
        // past every row for a rare one (BENCHMARKS.md, "Searching 100,000
        // products"). PostgreSQL's LIKE escapes with `\` by default.
        let pattern = Expr::Constant(pattern.into());
        let per_column = || {
            any_of(columns.iter().map(|column| column.into_expr().binary(PgBinOper::ILike, pattern.clone())))
        };
        if columns.len() < 2 {
            return per_column();
        }
        // Several columns are searched through their lowercased join
        // (migration m20261208_000001), which `ILIKE` is equivalent to:
        // it lowercases both sides with `lower` too.
        let joined = Expr::col((table, SEARCH_TEXT)).binary(BinOper::Like, Func::lower(pattern.clone()));
        // A `q` holding the fields' separator could match across two fields
        // there: the columns are checked one by one as well (the join still
        // narrows through its index, as a match in one column implies one
        // in the join).
        return if q.contains(SEARCH_TEXT_SEPARATOR) { joined.and(per_column()) } else { joined };
    }
    // SQLite's LIKE ignores the case of ASCII letters, and escapes only
    // with an ESCAPE clause.
    any_of(columns.iter().map(|column| column.into_expr().like(LikeExpr::new(pattern.clone()).escape('\\'))))
}

/// On PostgreSQL, the stored, lowercased join of a table's searched
/// columns, when it searches more than one, and what joins them.
const SEARCH_TEXT: &str = "search_text";
const SEARCH_TEXT_SEPARATOR: char = '\u{1f}';

fn any_of(conditions: impl Iterator<Item = Expr>) -> Expr {
    conditions.reduce(|any, next| any.or(next)).unwrap_or_else(|| Expr::val(false))
}

impl ListRequest {
    /// The plain request: by ascending id, after the row with id `after`
    /// (for callers inside the server, such as tests and tools).
    pub fn by_id(limit: u64, after: Option<i32>, filter: Filter) -> Self {
        let fingerprint = filter.fingerprint();
        Self {
            // Every spec lists `id` last.
            sort: usize::MAX,
            descending: false,
            sort_name: "id".into(),
            fingerprint,
            filter,
            limit,
            position: after.map(|id| Position { key: Key::Int(id.into()), id }),
            backward: false,
            count: false,
        }
    }

    fn sortable<'s, C>(&self, spec: &'s Spec<C>) -> &'s Sortable<C> {
        spec.sorts
            .get(self.sort)
            .or_else(|| spec.sorts.last())
            .unwrap_or_else(|| unreachable!("a spec has sorts"))
    }

    /// `select` narrowed by the common filters (`q`, price, creation time);
    /// each collection adds its own equality filters before or after.
    pub fn filtered<E: EntityTrait>(
        &self,
        spec: &Spec<E::Column>,
        mut select: Select<E>,
        backend: DbBackend,
    ) -> Select<E> {
        let filter = &self.filter;
        let q = filter.q.as_deref().filter(|_| !spec.search.is_empty());
        if let Some(q) = q {
            select = select.filter(search(spec.search, q, backend, E::default()));
        }
        // With `q` on PostgreSQL the price range is written into the
        // statement too: whether to walk the price index or the trigram
        // index depends on how many rows the range holds, and a generic
        // plan, which guesses, took 10-20 ms for a search the walk serves in
        // 1. (Instants stay bound: PostgreSQL cannot read back every instant
        // chrono accepts, such as the year 0 or a leap second, as text.)
        let inline = q.is_some() && backend == DbBackend::Postgres;
        let cents = |cents: i64| {
            if inline { Expr::Constant(cents.into()) } else { Expr::val(cents) }
        };
        if let Some(price) = spec.price {
            if let Some(min) = filter.price_min {
                select = select.filter(price.into_expr().gte(cents(min)));
            }
            if let Some(max) = filter.price_max {
                select = select.filter(price.into_expr().lte(cents(max)));
            }
        }
        if let Some(after) = filter.created_after {
            select = select.filter(spec.created_at.gt(after));
        }
        if let Some(before) = filter.created_before {
            select = select.filter(spec.created_at.lt(before));
        }
        select
    }

    /// `select` (already filtered) cut to this page: after (or before) the
    /// cursor, in sort order (reversed when walking back), one row more
    /// than the page so that the caller learns whether more follow.
    pub fn apply<E: EntityTrait>(&self, spec: &Spec<E::Column>, mut select: Select<E>) -> Select<E> {
        let sortable = self.sortable(spec);
        let by_id = sortable.name == "id";
        // The order the rows are read in: the sort's, reversed when walking back.
        let ascending = self.descending == self.backward;
        let nulls_last = !self.backward;
        let id = spec.id.into_expr();
        let column = sortable.column.into_expr();
        let ahead = |left: Expr, right: Expr| if ascending { left.gt(right) } else { left.lt(right) };
        if let Some(position) = &self.position {
            let condition = if by_id {
                ahead(id.clone(), Expr::val(position.id))
            } else {
                match (&position.key, sortable.nullable) {
                    (Key::Null, _) => {
                        let among_nulls =
                            column.clone().is_null().and(ahead(id.clone(), Expr::val(position.id)));
                        if nulls_last { among_nulls } else { among_nulls.or(column.clone().is_not_null()) }
                    }
                    (key, nullable) => {
                        let pair = Expr::tuple([column.clone(), id.clone()]);
                        let at = Expr::tuple([Expr::val(key.clone().into_value()), Expr::val(position.id)]);
                        let beyond = ahead(pair, at);
                        if nullable && nulls_last { beyond.or(column.clone().is_null()) } else { beyond }
                    }
                }
            };
            select = select.filter(condition);
        }
        let order = if ascending { Order::Asc } else { Order::Desc };
        if !by_id {
            select = if sortable.nullable {
                let nulls = if nulls_last { NullOrdering::Last } else { NullOrdering::First };
                select.order_by_with_nulls(sortable.column, order.clone(), nulls)
            } else {
                select.order_by(sortable.column, order.clone())
            };
        }
        select.order_by(spec.id, order).limit(self.limit + 1)
    }

    /// The page from the rows [`Self::apply`] read, in sort order, each
    /// with its cursor; `model` finds the row's model (for its key and id).
    pub fn page<T, M: ModelTrait>(
        &self,
        spec: &Spec<<M::Entity as EntityTrait>::Column>,
        mut rows: Vec<T>,
        model: impl Fn(&T) -> &M,
        id_of: impl Fn(&M) -> i32,
        total_count: Option<u64>,
    ) -> ListPage<T> {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        if self.backward {
            rows.reverse();
        }
        let column = self.sortable(spec).column;
        let positions: Vec<Position> = rows
            .iter()
            .map(|row| {
                let m = model(row);
                Position { key: Key::from_value(m.get(column)), id: id_of(m) }
            })
            .collect();
        let cursors =
            positions.iter().map(|p| encode_cursor(false, &self.sort_name, &self.fingerprint, p)).collect();
        let (has_previous, has_next) =
            if self.backward { (more, self.position.is_some()) } else { (self.position.is_some(), more) };
        let next_cursor = has_next
            .then(|| positions.last().map(|p| encode_cursor(false, &self.sort_name, &self.fingerprint, p)))
            .flatten();
        let prev_cursor = has_previous
            .then(|| positions.first().map(|p| encode_cursor(true, &self.sort_name, &self.fingerprint, p)))
            .flatten();
        ListPage { rows, cursors, has_previous, has_next, next_cursor, prev_cursor, total_count }
    }
}

/// One page of a list, in sort order.
#[derive(Debug, Clone)]
pub struct ListPage<T> {
    pub rows: Vec<T>,
    /// Each row's cursor (GraphQL edges; pass as `after` or `before`).
    pub cursors: Vec<String>,
    pub has_previous: bool,
    pub has_next: bool,
    /// REST: the cursor of the next page.
    pub next_cursor: Option<String>,
    /// REST: the cursor of the previous page (it walks back).
    pub prev_cursor: Option<String>,
    /// Rows matching the filters, when counted.
    pub total_count: Option<u64>,
}

impl<T> ListPage<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> ListPage<U> {
        ListPage {
            rows: self.rows.into_iter().map(f).collect(),
            cursors: self.cursors,
            has_previous: self.has_previous,
            has_next: self.has_next,
            next_cursor: self.next_cursor,
            prev_cursor: self.prev_cursor,
            total_count: self.total_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_names_are_camel_case() {
        assert_eq!(Face::Graphql.field("price_max"), "priceMax");
        assert_eq!(Face::Graphql.field("q"), "q");
        assert_eq!(Face::Rest.field("price_max"), "price_max");
        assert_eq!(snake_to_camel("capacity_per_month"), "capacityPerMonth");
    }

    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(like_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
    }

    #[test]
    fn cursors_round_trip_and_keys_are_typed() {
        let position = Position { key: Key::Text("a:b".into()), id: 7 };
        let cursor = encode_cursor(true, "-name", "00ff", &position);
        let decoded = decode_cursor(&cursor).unwrap();
        assert!(decoded.backward);
        assert_eq!((decoded.sort.as_str(), decoded.fingerprint.as_str(), decoded.id), ("-name", "00ff", 7));
        assert_eq!(Key::decode(&decoded.key, Kind::Text, false), Some(Key::Text("a:b".into())));
        assert_eq!(Key::decode(&decoded.key, Kind::Int, false), None);
        assert_eq!(Key::decode("n", Kind::Int, false), None);
        assert_eq!(Key::decode("n", Kind::Int, true), Some(Key::Null));
        assert!(decode_cursor("garbage").is_none());
    }
}

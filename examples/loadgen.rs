//! A closed-loop HTTP load generator for storegate (issue 3's benchmark).
//!
//! `--connections N` workers share one keep-alive connection pool; each
//! worker sends one operation, waits for the whole answer, checks it, and
//! sends the next, for `--warmup` seconds (not measured) and then
//! `--duration` seconds (measured). One operation is one *use* of the API:
//! for `rest-two-step` that is two HTTP requests (product, then its
//! factory), and its latency is the latency of the pair.
//!
//! ```sh
//! cargo run --release --example loadgen -- --base-url http://127.0.0.1:8080 \
//!     --scenario rest-two-step,graphql-product --connections 32 --duration 10 --header
//! ```
//!
//! stdout carries, per scenario, one markdown table row and one line
//! starting `JSON ` for scripts; progress and error samples go to stderr.
//! With `--server-pid` (Linux) the row also shows the server's CPU time per
//! operation.
//! The exit status is 1 when any operation failed (bad status, unparsable
//! body, a GraphQL `errors` entry, or an answer that is not the one asked
//! for). `bench/run.sh` runs every scenario against a freshly seeded
//! database; `bench/README.md` explains the output.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::{Parser, ValueEnum};
use reqwest::{Client, StatusCode, Url};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "Closed-loop HTTP load generator for storegate")]
struct Args {
    /// Where the server listens.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// Scenarios to run one after the other, with the same settings
    /// (comma-separated, or the flag repeated).
    #[arg(long, value_enum, value_delimiter = ',', required = true)]
    scenario: Vec<Scenario>,
    /// Concurrent workers, each with at most one operation in flight.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds per scenario before the measurement starts.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Product ids to use, as `FIRST..LAST` (inclusive); by default the ids
    /// are collected by walking `GET /api/products?limit=100`.
    #[arg(long)]
    product_ids: Option<String>,
    /// Free text for the first column of the table (e.g. `sqlite`).
    #[arg(long, default_value = "-")]
    label: String,
    /// Print the markdown table header before the rows.
    #[arg(long)]
    header: bool,
    /// Tokio worker threads of the load generator (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
    /// The server's process id (Linux): adds the server's CPU time per
    /// operation over the measured window, from `/proc/PID/stat`. Only the
    /// server process counts: an external database's CPU does not.
    #[arg(long)]
    server_pid: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// `GET /api/products/{id}`, then `GET /api/factories/{factory.id}`.
    RestTwoStep,
    /// One `product(id:) { … factory { … } }` query with the same fields.
    GraphqlProduct,
    /// `products(first: 100, after:) { nodes { … factory { … } } }`, rotating over every page.
    #[value(name = "graphql-page-100")]
    GraphqlPage100,
    /// `GET /api/products?limit=100&cursor=`, rotating over every page.
    #[value(name = "rest-list-100")]
    RestList100,
    /// `GET /api/products` (default page of 20), rotating over every page.
    #[value(name = "rest-list-20")]
    RestList20,
    /// `GET /api/products?limit=100`, then `GET /api/factories/{id}` once per
    /// distinct factory on the page, one after the other: the REST way to
    /// get what `graphql-page-100` returns.
    #[value(name = "rest-list-100-factories")]
    RestList100Factories,
    /// `products(first: 20, after:)`, the fields of the REST page, rotating
    /// over the pages: the plain page `graphql-query-20` is held against.
    #[value(name = "graphql-page-20")]
    GraphqlPage20,
    /// `GET /api/products?q=&price_min=&price_max=&sort=price`, rotating
    /// over the first pages of several searches (`SEARCHES`).
    #[value(name = "rest-query-20")]
    RestQuery20,
    /// `products(first: 20, after:, filter:, orderBy:)`: the same searches,
    /// the same pages and the same fields as `graphql-page-20`.
    #[value(name = "graphql-query-20")]
    GraphqlQuery20,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Self::RestTwoStep => "rest-two-step",
            Self::GraphqlProduct => "graphql-product",
            Self::GraphqlPage100 => "graphql-page-100",
            Self::RestList100 => "rest-list-100",
            Self::RestList20 => "rest-list-20",
            Self::RestList100Factories => "rest-list-100-factories",
            Self::GraphqlPage20 => "graphql-page-20",
            Self::RestQuery20 => "rest-query-20",
            Self::GraphqlQuery20 => "graphql-query-20",
        }
    }
}

/// The fields of `GET /api/products/{id}` plus `GET /api/factories/{id}`
/// (less the timestamps, which neither path needs to be compared on).
const PRODUCT_QUERY: &str = "query($id: ID!) { product(id: $id) { id sku name description price \
     factory { id name address city country phone email establishedYear capacityPerMonth certifications } } }";

const PAGE_QUERY: &str = "query($after: String) { products(first: 100, after: $after) { \
     nodes { id sku name price factory { id name address country certifications } } } }";

const PAGE_WALK_QUERY: &str = "query($after: String) { products(first: 100, after: $after) { \
     pageInfo { hasNextPage endCursor } nodes { id } } }";

/// A page of 20 with the fields of the REST list, walked and measured with
/// the same document; without `filter` and `orderBy` it is the plain page.
const LIST_20_QUERY: &str = "query($after: String, $filter: ProductFilter, $orderBy: ProductOrder) { \
     products(first: 20, after: $after, filter: $filter, orderBy: $orderBy) { \
     pageInfo { hasNextPage endCursor } nodes { id sku name description price ownerId factory { id name } } } }";

/// The searches of `rest-query-20` and `graphql-query-20`: `q` (over name,
/// SKU and description) and a price range in currency units, sorted by
/// price. With `seed-demo --scale 100000`: a material matches one product
/// in 7, a part one in 11, a pair one in 77, a product number or a SKU
/// fragment about ten; prices are spread evenly over 0.99 to 1000.98.
const SEARCHES: [(&str, f64, f64); 6] = [
    ("steel", 250.0, 300.0),
    ("copper", 500.0, 900.0),
    ("bearing", 10.0, 60.0),
    ("brass hinge", 100.0, 400.0),
    ("product 4242", 0.0, 1000.0),
    ("demo-0424", 0.0, 1000.0),
];

/// Pages walked per search, and at most per plain walk (a keyset page
/// costs the same at any depth, so the first thousand stand for the rest).
const PAGES_PER_SEARCH: usize = 5;
const MAX_PAGES: usize = 1_000;

/// A page to request and the number of rows it must return.
#[derive(Debug, Clone)]
struct RestPage {
    url: Url,
    rows: usize,
}

#[derive(Debug, Clone)]
struct GraphqlPage {
    after: Option<String>,
    rows: usize,
}

/// A page of [`LIST_20_QUERY`]: its variables and the ids it must return.
#[derive(Debug, Clone)]
struct GraphqlPage20 {
    variables: Value,
    ids: Arc<Vec<String>>,
}

/// What the setup found on the server, shared by every worker.
#[derive(Debug, Default)]
struct Catalog {
    product_ids: Vec<i64>,
    rest_pages_100: Vec<RestPage>,
    rest_pages_20: Vec<RestPage>,
    graphql_pages_100: Vec<GraphqlPage>,
    graphql_pages_20: Vec<GraphqlPage20>,
    rest_searches: Vec<RestPage>,
    graphql_searches: Vec<GraphqlPage20>,
}

struct Ctx {
    client: Client,
    base: Url,
    graphql: Url,
    catalog: Catalog,
}

/// One completed operation: how many HTTP requests it took and how many
/// products it returned.
struct Done {
    requests: u64,
    products: u64,
}

type OpResult = Result<Done, String>;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.connections > 0, "--connections must be at least 1");
    ensure!(args.duration > 0.0, "--duration must be positive");
    ensure!(args.warmup >= 0.0, "--warmup must not be negative");
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = runtime.enable_all().build()?;
    let failed = runtime.block_on(run(args))?;
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let mut base = Url::parse(&args.base_url).context("--base-url is not a URL")?;
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    let client = Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(args.connections)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?;
    let graphql = base.join("graphql")?;

    let catalog = discover(&client, &base, &graphql, &args).await?;
    let ctx = Arc::new(Ctx { client, base, graphql, catalog });
    eprintln!(
        "loadgen: {} products, {} REST pages of 100, {} of 20, {} GraphQL pages of 100, {} of 20, \
         {} REST and {} GraphQL search pages",
        ctx.catalog.product_ids.len(),
        ctx.catalog.rest_pages_100.len(),
        ctx.catalog.rest_pages_20.len(),
        ctx.catalog.graphql_pages_100.len(),
        ctx.catalog.graphql_pages_20.len(),
        ctx.catalog.rest_searches.len(),
        ctx.catalog.graphql_searches.len()
    );

    if args.header {
        println!("{HEADER}");
        println!("{RULE}");
    }
    let mut failed = false;
    for &scenario in &args.scenario {
        let report = measure(&ctx, scenario, &args).await;
        println!("{}", report.row());
        println!("JSON {}", report.json());
        failed |= report.errors > 0;
    }
    Ok(failed)
}

/// Collects product ids and page cursors, so every operation asks for
/// something that exists and the pages rotate over the whole table.
async fn discover(client: &Client, base: &Url, graphql: &Url, args: &Args) -> anyhow::Result<Catalog> {
    let mut catalog = Catalog::default();
    let needs = |s: &[Scenario]| args.scenario.iter().any(|x| s.contains(x));

    let (ids, pages_100) = walk_rest(client, base, &[("limit", "100".into())], MAX_PAGES).await?;
    catalog.product_ids = ids;
    catalog.rest_pages_100 = pages_100;
    if needs(&[Scenario::RestList20]) {
        catalog.rest_pages_20 = walk_rest(client, base, &[], MAX_PAGES).await?.1;
    }
    if needs(&[Scenario::GraphqlPage100]) {
        catalog.graphql_pages_100 = walk_graphql(client, graphql).await?;
    }
    if needs(&[Scenario::GraphqlPage20]) {
        catalog.graphql_pages_20 = walk_graphql_20(client, graphql, &json!({}), MAX_PAGES).await?;
    }
    if needs(&[Scenario::RestQuery20, Scenario::GraphqlQuery20]) {
        for (q, min, max) in SEARCHES {
            let params = [
                ("q", q.to_owned()),
                ("price_min", min.to_string()),
                ("price_max", max.to_string()),
                ("sort", "price".into()),
            ];
            let (rest_ids, rest_pages) = walk_rest(client, base, &params, PAGES_PER_SEARCH).await?;
            let filter = json!({ "filter": { "q": q, "priceMin": min, "priceMax": max }, "orderBy": { "field": "PRICE" } });
            let pages = walk_graphql_20(client, graphql, &filter, PAGES_PER_SEARCH).await?;
            // Both faces must answer the same search with the same rows in
            // the same order (docs/API.md §3.6), else the figures compare
            // different work.
            let graphql_ids: Vec<i64> =
                pages.iter().flat_map(|page| page.ids.iter().filter_map(|id| id.parse().ok())).collect();
            ensure!(rest_ids == graphql_ids, "the search {q:?} gives other rows over REST and GraphQL");
            ensure!(
                !rest_ids.is_empty(),
                "the search {q:?} finds nothing: run `storegate seed-demo --scale 100000`"
            );
            catalog.rest_searches.extend(rest_pages);
            catalog.graphql_searches.extend(pages);
        }
    }
    if let Some(range) = &args.product_ids {
        catalog.product_ids = parse_range(range)?;
    }
    ensure!(!catalog.product_ids.is_empty(), "the server has no products: run `storegate seed-demo` first");
    Ok(catalog)
}

fn parse_range(text: &str) -> anyhow::Result<Vec<i64>> {
    let (first, last) = text
        .split_once("..=")
        .or_else(|| text.split_once(".."))
        .context("--product-ids must look like 1..2000")?;
    let first: i64 = first.trim().parse().context("--product-ids: bad first id")?;
    let last: i64 = last.trim().parse().context("--product-ids: bad last id")?;
    ensure!(first <= last, "--product-ids: the first id is after the last");
    Ok((first..=last).collect())
}

/// Walks `GET /api/products` with `params` to the end, or for `max_pages`
/// pages; returns every id and the URL of every page with its row count.
async fn walk_rest(
    client: &Client,
    base: &Url,
    params: &[(&str, String)],
    max_pages: usize,
) -> anyhow::Result<(Vec<i64>, Vec<RestPage>)> {
    let mut ids = Vec::new();
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    while pages.len() < max_pages {
        let mut url = base.join("api/products")?;
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in params {
                query.append_pair(name, value);
            }
            if let Some(cursor) = &cursor {
                query.append_pair("cursor", cursor);
            }
        }
        let url = Url::parse(url.as_str().trim_end_matches('?'))?;
        let response = client.get(url.clone()).send().await.with_context(|| format!("GET {url}"))?;
        let status = response.status();
        let body: Value = response.json().await.with_context(|| format!("GET {url}: body"))?;
        if status != StatusCode::OK {
            bail!("GET {url}: {status}: {body}");
        }
        let rows = body["data"].as_array().with_context(|| format!("GET {url}: no `data` array"))?;
        ids.extend(rows.iter().filter_map(|row| row["id"].as_i64()));
        pages.push(RestPage { url, rows: rows.len() });
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    Ok((ids, pages))
}

/// One request of a GraphQL page walk: the `products` connection it answers.
async fn walk_step(client: &Client, graphql: &Url, body: &Value) -> anyhow::Result<Value> {
    let response = client.post(graphql.clone()).json(body).send().await.context("POST /graphql")?;
    let status = response.status();
    let mut body: Value = response.json().await.context("POST /graphql: body")?;
    if status != StatusCode::OK || body.get("errors").is_some() {
        bail!("POST /graphql (page walk): {status}: {body}");
    }
    Ok(body["data"]["products"].take())
}

/// The cursor of the page after `connection`'s, if there is one.
fn next_after(connection: &Value) -> Option<String> {
    match (connection["pageInfo"]["hasNextPage"].as_bool(), connection["pageInfo"]["endCursor"].as_str()) {
        (Some(true), Some(end)) => Some(end.to_owned()),
        _ => None,
    }
}

/// Walks [`LIST_20_QUERY`] with `variables` (besides `after`) to the end,
/// or for `max_pages` pages.
async fn walk_graphql_20(
    client: &Client,
    graphql: &Url,
    variables: &Value,
    max_pages: usize,
) -> anyhow::Result<Vec<GraphqlPage20>> {
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    while pages.len() < max_pages {
        let mut variables = variables.clone();
        variables["after"] = json!(after);
        let body = json!({ "query": LIST_20_QUERY, "variables": variables });
        let connection = &walk_step(client, graphql, &body).await?;
        let ids = connection["nodes"]
            .as_array()
            .map(|nodes| nodes.iter().filter_map(|node| node["id"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        pages.push(GraphqlPage20 { variables, ids: Arc::new(ids) });
        match next_after(connection) {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(pages)
}

async fn walk_graphql(client: &Client, graphql: &Url) -> anyhow::Result<Vec<GraphqlPage>> {
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let body = json!({ "query": PAGE_WALK_QUERY, "variables": { "after": after } });
        let connection = &walk_step(client, graphql, &body).await?;
        let rows = connection["nodes"].as_array().map_or(0, Vec::len);
        pages.push(GraphqlPage { after: after.clone(), rows });
        match next_after(connection) {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(pages)
}

/// Runs one scenario: warm-up, then the measured window.
async fn measure(ctx: &Arc<Ctx>, scenario: Scenario, args: &Args) -> Report {
    eprintln!(
        "loadgen: {} with {} connections: {}s warm-up, {}s measured",
        scenario.name(),
        args.connections,
        args.warmup,
        args.duration
    );
    let counter = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let end = measure_from + Duration::from_secs_f64(args.duration);
    let cpu_probe = args.server_pid.map(|pid| tokio::spawn(cpu_during(pid, measure_from, end)));
    let workers: Vec<_> = (0..args.connections)
        .map(|_| tokio::spawn(worker(Arc::clone(ctx), scenario, Arc::clone(&counter), measure_from, end)))
        .collect();

    let mut total = WorkerStats::default();
    for handle in workers {
        match handle.await {
            Ok(stats) => total.merge(stats),
            Err(panic) => {
                total.errors += 1;
                total.samples.push(format!("worker panicked: {panic}"));
            }
        }
    }
    for sample in &total.samples {
        eprintln!("loadgen: {} error: {sample}", scenario.name());
    }
    let server_cpu = match cpu_probe {
        Some(probe) => match probe.await {
            Ok(Ok(cpu)) => Some(cpu),
            Ok(Err(error)) => {
                eprintln!("loadgen: no server CPU time: {error:#}");
                None
            }
            Err(error) => {
                eprintln!("loadgen: no server CPU time: {error}");
                None
            }
        },
        None => None,
    };
    Report::new(scenario, args, Duration::from_secs_f64(args.duration), total, server_cpu)
}

/// CPU time (user + system, all threads) of process `pid` between two instants.
async fn cpu_during(pid: u32, from: Instant, to: Instant) -> anyhow::Result<Duration> {
    tokio::time::sleep_until(from.into()).await;
    let before = process_cpu(pid)?;
    tokio::time::sleep_until(to.into()).await;
    let after = process_cpu(pid)?;
    Ok(after.saturating_sub(before))
}

/// `utime + stime` of `/proc/PID/stat`, in clock ticks of `getconf CLK_TCK`
/// (100 per second on Linux unless told otherwise).
fn process_cpu(pid: u32) -> anyhow::Result<Duration> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after it do not.
    let rest = stat.rsplit_once(')').context("unexpected /proc/PID/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let ticks = |i: usize| -> anyhow::Result<u64> {
        fields.get(i - 3).context("short /proc/PID/stat")?.parse::<u64>().context("bad /proc/PID/stat")
    };
    let total = ticks(14)? + ticks(15)?;
    Ok(Duration::from_secs_f64(total as f64 / clock_ticks_per_second()))
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|ticks| *ticks > 0.0)
            .unwrap_or(100.0)
    })
}

#[derive(Default)]
struct WorkerStats {
    /// Per measured operation, in microseconds.
    latencies_us: Vec<u64>,
    requests: u64,
    products: u64,
    /// Failed operations, warm-up included.
    errors: u64,
    /// The first few error messages.
    samples: Vec<String>,
}

const MAX_SAMPLES: usize = 5;

impl WorkerStats {
    fn merge(&mut self, other: WorkerStats) {
        self.latencies_us.extend(other.latencies_us);
        self.requests += other.requests;
        self.products += other.products;
        self.errors += other.errors;
        for sample in other.samples {
            if self.samples.len() < MAX_SAMPLES {
                self.samples.push(sample);
            }
        }
    }
}

async fn worker(
    ctx: Arc<Ctx>,
    scenario: Scenario,
    counter: Arc<AtomicUsize>,
    measure_from: Instant,
    end: Instant,
) -> WorkerStats {
    let mut stats = WorkerStats::default();
    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let result = operation(&ctx, scenario, n).await;
        let finished = Instant::now();
        match result {
            Ok(done) => {
                // Only operations wholly inside the window are measured.
                if started >= measure_from && finished <= end {
                    let micros =
                        u64::try_from(finished.duration_since(started).as_micros()).unwrap_or(u64::MAX);
                    stats.latencies_us.push(micros);
                    stats.requests += done.requests;
                    stats.products += done.products;
                }
            }
            Err(message) => {
                stats.errors += 1;
                if stats.samples.len() < MAX_SAMPLES {
                    stats.samples.push(message);
                }
            }
        }
    }
    stats
}

/// One operation of a scenario; `n` picks the product or page round-robin.
async fn operation(ctx: &Ctx, scenario: Scenario, n: usize) -> OpResult {
    let catalog = &ctx.catalog;
    match scenario {
        Scenario::RestTwoStep => {
            let id = catalog.product_ids[n % catalog.product_ids.len()];
            rest_two_step(ctx, id).await
        }
        Scenario::GraphqlProduct => {
            let id = catalog.product_ids[n % catalog.product_ids.len()];
            graphql_product(ctx, id).await
        }
        Scenario::GraphqlPage100 => graphql_page(ctx, &pick(&catalog.graphql_pages_100, n)?).await,
        Scenario::RestList100 => {
            rest_list(ctx, &pick(&catalog.rest_pages_100, n)?).await.map(|(done, _)| done)
        }
        Scenario::RestList20 => rest_list(ctx, &pick(&catalog.rest_pages_20, n)?).await.map(|(done, _)| done),
        Scenario::RestList100Factories => {
            rest_list_with_factories(ctx, &pick(&catalog.rest_pages_100, n)?).await
        }
        Scenario::GraphqlPage20 => graphql_page_20(ctx, &pick(&catalog.graphql_pages_20, n)?).await,
        Scenario::RestQuery20 => {
            rest_list(ctx, &pick(&catalog.rest_searches, n)?).await.map(|(done, _)| done)
        }
        Scenario::GraphqlQuery20 => graphql_page_20(ctx, &pick(&catalog.graphql_searches, n)?).await,
    }
}

fn pick<T: Clone>(pages: &[T], n: usize) -> Result<T, String> {
    if pages.is_empty() {
        return Err("no pages were discovered".into());
    }
    Ok(pages[n % pages.len()].clone())
}

/// Sends a request and returns its parsed JSON body, or why it failed.
async fn fetch_json(request: reqwest::RequestBuilder, what: &str) -> Result<Value, String> {
    let response = request.send().await.map_err(|e| format!("{what}: {e}"))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| format!("{what}: reading the body: {e}"))?;
    if status != StatusCode::OK {
        let excerpt: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
        return Err(format!("{what}: HTTP {status}: {excerpt}"));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{what}: body is not JSON: {e}"))
}

async fn get_factory(ctx: &Ctx, factory_id: i64) -> Result<(), String> {
    let what = format!("GET /api/factories/{factory_id}");
    let url = ctx.base.join(&format!("api/factories/{factory_id}")).map_err(|e| e.to_string())?;
    let factory = fetch_json(ctx.client.get(url), &what).await?;
    if factory["id"].as_i64() != Some(factory_id) || !factory["certifications"].is_array() {
        return Err(format!("{what}: unexpected body {factory}"));
    }
    Ok(())
}

async fn rest_two_step(ctx: &Ctx, id: i64) -> OpResult {
    let what = format!("GET /api/products/{id}");
    let url = ctx.base.join(&format!("api/products/{id}")).map_err(|e| e.to_string())?;
    let product = fetch_json(ctx.client.get(url), &what).await?;
    if product["id"].as_i64() != Some(id) {
        return Err(format!("{what}: unexpected body {product}"));
    }
    let factory_id = product["factory"]["id"].as_i64().ok_or_else(|| format!("{what}: no factory.id"))?;
    get_factory(ctx, factory_id).await?;
    Ok(Done { requests: 2, products: 1 })
}

async fn graphql_product(ctx: &Ctx, id: i64) -> OpResult {
    let what = format!("POST /graphql product({id})");
    let body = json!({ "query": PRODUCT_QUERY, "variables": { "id": id.to_string() } });
    let answer = fetch_json(ctx.client.post(ctx.graphql.clone()).json(&body), &what).await?;
    if let Some(errors) = answer.get("errors") {
        return Err(format!("{what}: errors {errors}"));
    }
    let product = &answer["data"]["product"];
    if product["id"].as_str() != Some(id.to_string().as_str())
        || !product["factory"]["certifications"].is_array()
    {
        return Err(format!("{what}: unexpected body {answer}"));
    }
    Ok(Done { requests: 1, products: 1 })
}

async fn graphql_page(ctx: &Ctx, page: &GraphqlPage) -> OpResult {
    let what = format!("POST /graphql products(first: 100, after: {:?})", page.after);
    let body = json!({ "query": PAGE_QUERY, "variables": { "after": page.after } });
    let answer = fetch_json(ctx.client.post(ctx.graphql.clone()).json(&body), &what).await?;
    if let Some(errors) = answer.get("errors") {
        return Err(format!("{what}: errors {errors}"));
    }
    let nodes = answer["data"]["products"]["nodes"].as_array().ok_or_else(|| format!("{what}: no nodes"))?;
    if nodes.len() != page.rows || nodes.iter().any(|node| !node["factory"]["certifications"].is_array()) {
        return Err(format!(
            "{what}: {} nodes (expected {}) or a node without its factory",
            nodes.len(),
            page.rows
        ));
    }
    Ok(Done { requests: 1, products: page.rows as u64 })
}

async fn graphql_page_20(ctx: &Ctx, page: &GraphqlPage20) -> OpResult {
    let what = format!("POST /graphql products(first: 20) with {}", page.variables);
    let body = json!({ "query": LIST_20_QUERY, "variables": page.variables });
    let answer = fetch_json(ctx.client.post(ctx.graphql.clone()).json(&body), &what).await?;
    if let Some(errors) = answer.get("errors") {
        return Err(format!("{what}: errors {errors}"));
    }
    let nodes = answer["data"]["products"]["nodes"].as_array().ok_or_else(|| format!("{what}: no nodes"))?;
    let same = nodes.len() == page.ids.len()
        && nodes.iter().zip(page.ids.iter()).all(|(node, id)| node["id"].as_str() == Some(id.as_str()));
    if !same {
        return Err(format!("{what}: not the {} products of the walk", page.ids.len()));
    }
    Ok(Done { requests: 1, products: nodes.len() as u64 })
}

/// One list page; also returns the page's rows for the caller to follow up.
async fn rest_list(ctx: &Ctx, page: &RestPage) -> Result<(Done, Vec<Value>), String> {
    let what = format!("GET {}", page.url);
    let mut body = fetch_json(ctx.client.get(page.url.clone()), &what).await?;
    let rows = match body.get_mut("data").map(Value::take) {
        Some(Value::Array(rows)) if rows.len() == page.rows => rows,
        _ => return Err(format!("{what}: expected a `data` array of {} rows", page.rows)),
    };
    Ok((Done { requests: 1, products: rows.len() as u64 }, rows))
}

async fn rest_list_with_factories(ctx: &Ctx, page: &RestPage) -> OpResult {
    let (mut done, rows) = rest_list(ctx, page).await?;
    let mut factory_ids: Vec<i64> = rows.iter().filter_map(|row| row["factory"]["id"].as_i64()).collect();
    if factory_ids.len() != rows.len() {
        return Err(format!("GET {}: a row without factory.id", page.url));
    }
    factory_ids.sort_unstable();
    factory_ids.dedup();
    for factory_id in factory_ids {
        get_factory(ctx, factory_id).await?;
        done.requests += 1;
    }
    Ok(done)
}

const HEADER: &str = "| db | scenario | conns | ops/s | req/s | products/s | mean ms | p50 ms | p90 ms | p99 ms | max ms | server CPU µs/op | errors |";
const RULE: &str = "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|";

struct Report {
    label: String,
    scenario: Scenario,
    connections: usize,
    seconds: f64,
    ops: u64,
    requests: u64,
    products: u64,
    mean_ms: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
    /// Server CPU time per measured operation, when `--server-pid` was given.
    server_cpu_us_per_op: Option<f64>,
}

impl Report {
    fn new(
        scenario: Scenario,
        args: &Args,
        window: Duration,
        mut stats: WorkerStats,
        server_cpu: Option<Duration>,
    ) -> Self {
        stats.latencies_us.sort_unstable();
        let lat = &stats.latencies_us;
        let ms = |us: u64| us as f64 / 1000.0;
        let mean_ms = if lat.is_empty() { 0.0 } else { ms(lat.iter().sum::<u64>()) / lat.len() as f64 };
        Self {
            label: args.label.clone(),
            scenario,
            connections: args.connections,
            seconds: window.as_secs_f64(),
            ops: lat.len() as u64,
            requests: stats.requests,
            products: stats.products,
            mean_ms,
            p50_ms: ms(percentile(lat, 50.0)),
            p90_ms: ms(percentile(lat, 90.0)),
            p99_ms: ms(percentile(lat, 99.0)),
            max_ms: ms(lat.last().copied().unwrap_or(0)),
            errors: stats.errors,
            server_cpu_us_per_op: server_cpu
                .filter(|_| !lat.is_empty())
                .map(|cpu| cpu.as_secs_f64() * 1e6 / lat.len() as f64),
        }
    }

    fn per_second(&self, count: u64) -> f64 {
        count as f64 / self.seconds
    }

    fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
            self.label,
            self.scenario.name(),
            self.connections,
            self.per_second(self.ops),
            self.per_second(self.requests),
            self.per_second(self.products),
            self.mean_ms,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.max_ms,
            self.server_cpu_us_per_op.map_or_else(|| "-".to_owned(), |us| format!("{us:.0}")),
            self.errors
        )
    }

    fn json(&self) -> Value {
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({
            "db": self.label,
            "scenario": self.scenario.name(),
            "connections": self.connections,
            "seconds": self.seconds,
            "ops": self.ops,
            "ops_per_s": round(self.per_second(self.ops)),
            "requests_per_s": round(self.per_second(self.requests)),
            "products_per_s": round(self.per_second(self.products)),
            "mean_ms": round(self.mean_ms),
            "p50_ms": round(self.p50_ms),
            "p90_ms": round(self.p90_ms),
            "p99_ms": round(self.p99_ms),
            "max_ms": round(self.max_ms),
            "server_cpu_us_per_op": self.server_cpu_us_per_op.map(round),
            "errors": self.errors,
        })
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

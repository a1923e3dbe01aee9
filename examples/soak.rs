//! Two longer measurements over a real socket (issues 4 and 6):
//!
//! - `--mode storm`: read latency (`GET /api/products/{id}`) measured alone,
//!   then again while other clients log in as fast as they can. Logins hash
//!   with argon2 on the blocking pool, so reads should not notice.
//! - `--mode soak`: mixed reads and writes for `--duration` seconds; counts
//!   every 201 and every 5xx, then counts the rows the writes created, so a
//!   lost write shows as a difference. (RSS over time is sampled by
//!   `bench/soak.sh`, which runs this.)
//!
//! ```sh
//! cargo run --release --example soak -- --base-url http://127.0.0.1:8080 --mode storm
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::{Parser, ValueEnum};
use reqwest::Client;
use serde_json::{Value, json};

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    #[arg(long, value_enum)]
    mode: Mode,
    /// Read (storm) or mixed (soak) workers.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Concurrent login clients during the storm.
    #[arg(long, default_value_t = 16)]
    logins: usize,
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    Storm,
    Soak,
}

const PASSWORD: &str = "soak-and-storm password";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let client = Client::builder().pool_max_idle_per_host(256).build()?;
    let base = args.base_url.trim_end_matches('/').to_string();
    let email = format!("soak-{}@example.com", std::process::id());
    let signup = client
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await?;
    ensure!(signup.status() == 201, "signup: {}", signup.status());
    let token = login(&client, &base, &email).await?;
    let products: Vec<i64> =
        client.get(format!("{base}/api/products?limit=100")).send().await?.json::<Value>().await?["data"]
            .as_array()
            .context("no products: run `storegate seed-demo` first")?
            .iter()
            .filter_map(|p| p["id"].as_i64())
            .collect();
    ensure!(!products.is_empty(), "no products: run `storegate seed-demo` first");
    match args.mode {
        Mode::Storm => storm(&args, &client, &base, &email, &products).await,
        Mode::Soak => soak(&args, &client, &base, &token, &products).await,
    }
}

async fn login(client: &Client, base: &str, email: &str) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await?;
    ensure!(response.status() == 200, "login: {}", response.status());
    Ok(response.json::<Value>().await?["access_token"].as_str().context("no token")?.to_string())
}

struct Latencies {
    micros: Vec<u64>,
    errors: u64,
}

impl Latencies {
    fn report(&mut self, label: &str, seconds: f64) -> String {
        self.micros.sort_unstable();
        let at = |q: f64| {
            let index =
                ((self.micros.len() as f64 * q).ceil() as usize).clamp(1, self.micros.len().max(1)) - 1;
            self.micros.get(index).copied().unwrap_or(0) as f64 / 1000.0
        };
        format!(
            "| {label} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            self.micros.len(),
            self.micros.len() as f64 / seconds,
            at(0.50),
            at(0.99),
            at(1.0),
            self.errors
        )
    }
}

/// Reads product pages by id for `seconds`, from `workers` workers.
async fn read_phase(
    client: &Client,
    base: &str,
    products: &[i64],
    workers: usize,
    seconds: f64,
) -> Latencies {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (client, base, products) = (client.clone(), base.to_string(), products.to_vec());
            tokio::spawn(async move {
                let mut latencies = Latencies { micros: Vec::new(), errors: 0 };
                let mut n = w;
                while Instant::now() < deadline {
                    let id = products[n % products.len()];
                    n += workers;
                    let started = Instant::now();
                    let ok = match client.get(format!("{base}/api/products/{id}")).send().await {
                        Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                        _ => false,
                    };
                    if ok {
                        latencies.micros.push(started.elapsed().as_micros() as u64);
                    } else {
                        latencies.errors += 1;
                    }
                }
                latencies
            })
        })
        .collect();
    let mut all = Latencies { micros: Vec::new(), errors: 0 };
    for task in tasks {
        if let Ok(part) = task.await {
            all.micros.extend(part.micros);
            all.errors += part.errors;
        }
    }
    all
}

async fn storm(
    args: &Args,
    client: &Client,
    base: &str,
    email: &str,
    products: &[i64],
) -> anyhow::Result<()> {
    println!("| phase | reads | reads/s | p50 ms | p99 ms | max ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    let mut quiet = read_phase(client, base, products, args.connections, args.duration).await;
    println!("{}", quiet.report("reads alone", args.duration));

    let stop = Arc::new(AtomicBool::new(false));
    let logins = Arc::new(AtomicU64::new(0));
    let login_errors = Arc::new(AtomicU64::new(0));
    let stormers: Vec<_> = (0..args.logins)
        .map(|_| {
            let (client, base, email) = (client.clone(), base.to_string(), email.to_string());
            let (stop, logins, login_errors) = (stop.clone(), logins.clone(), login_errors.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match login(&client, &base, &email).await {
                        Ok(_) => logins.fetch_add(1, Ordering::Relaxed),
                        Err(_) => login_errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await; // let the storm build up
    let before = logins.load(Ordering::Relaxed);
    let mut stormy = read_phase(client, base, products, args.connections, args.duration).await;
    let during = logins.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    for s in stormers {
        let _ = s.await;
    }
    println!("{}", stormy.report(&format!("reads during {} concurrent logins", args.logins), args.duration));
    println!(
        "\nlogins completed during the measured window: {during} ({:.1}/s), login errors: {}",
        during as f64 / args.duration,
        login_errors.load(Ordering::Relaxed)
    );
    Ok(())
}

async fn soak(args: &Args, client: &Client, base: &str, token: &str, products: &[i64]) -> anyhow::Result<()> {
    let store = client
        .post(format!("{base}/api/stores"))
        .bearer_auth(token)
        .json(&json!({ "name": format!("Soak {}", std::process::id()) }))
        .send()
        .await?
        .json::<Value>()
        .await?["id"]
        .as_i64()
        .context("no store")?;
    let deadline = Instant::now() + Duration::from_secs_f64(args.duration);
    let (created, server_errors, other, reads) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let workers: Vec<_> = (0..args.connections)
        .map(|w| {
            let (client, base, token, products) = (client.clone(), base.to_string(), token.to_string(), products.to_vec());
            let (created, server_errors, other, reads) = (created.clone(), server_errors.clone(), other.clone(), reads.clone());
            tokio::spawn(async move {
                let mut n = w;
                while Instant::now() < deadline {
                    n += 1;
                    // One write in five; reads alternate REST and GraphQL.
                    let response = match n % 5 {
                        0 => {
                            client
                                .post(format!("{base}/api/items"))
                                .bearer_auth(&token)
                                .json(&json!({ "name": format!("soak {w}-{n}"), "price": 9.99, "store_id": store }))
                                .send()
                                .await
                        }
                        1 | 3 => client.get(format!("{base}/api/products/{}", products[n % products.len()])).send().await,
                        2 => client.get(format!("{base}/api/products?limit=20")).send().await,
                        _ => {
                            client
                                .post(format!("{base}/graphql"))
                                .json(&json!({ "query": "{ products(first: 20) { nodes { id name factory { name } } } }" }))
                                .send()
                                .await
                        }
                    };
                    match response {
                        Ok(r) if r.status() == 201 => {
                            created.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) if r.status().is_server_error() => {
                            server_errors.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) if r.status() == 200 => {
                            let _ = r.bytes().await;
                            reads.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            other.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    // Count the rows the writes left, walking the store's items.
    let mut rows = 0u64;
    let mut url = format!("{base}/api/items?store_id={store}&limit=100");
    loop {
        let page: Value = client.get(&url).send().await?.json().await?;
        rows += page["data"].as_array().map_or(0, |d| d.len() as u64);
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{base}/api/items?store_id={store}&limit=100&cursor={cursor}"),
            None => break,
        }
    }
    let created = created.load(Ordering::Relaxed);
    println!(
        "soak: {:.0} s, {} reads (200), {} writes answered 201, {} rows found, {} lost, {} 5xx, {} other",
        args.duration,
        reads.load(Ordering::Relaxed),
        created,
        rows,
        created as i64 - rows as i64,
        server_errors.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed)
    );
    ensure!(server_errors.load(Ordering::Relaxed) == 0, "5xx responses during the soak");
    ensure!(rows == created, "writes answered 201 but missing");
    Ok(())
}

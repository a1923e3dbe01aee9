//! Graceful shutdown of the real binary: SIGTERM during a burst of slow
//! requests lets every in-flight request finish, refuses new connections,
//! and exits with status 0.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_storegate"))
        .arg("serve")
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display()))
        .env("JWT_SECRET", "shutdown-test-secret-of-at-least-32-bytes")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        // The burst is 24 sign-ups from one address, over the default 20.
        .env("SIGNUP_MAX_PER_ADDRESS", "0")
        // Request traces tell the test when the burst is in flight.
        .env("RUST_LOG", "warn,tower_http::trace=debug,storegate::observability=info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first line names the bound address: "storegate is listening on http://127.0.0.1:PORT".
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    // Keep reading, so the server never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("started processing request") && line.contains("/api/auth/signup") {
                let _ = started_tx.send(());
            }
        }
    });
    let base = first.trim().rsplit(' ').next().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");

    // Sign-ups hash passwords with argon2 (tens of milliseconds each), so a
    // burst of them is still running when the signal arrives. Connections
    // are opened first (keep-alive) and reused by the burst.
    let client = reqwest::Client::builder().pool_max_idle_per_host(32).build().unwrap();
    let warm: Vec<_> = (0..24).map(|_| tokio::spawn(client.get(format!("{base}/healthz")).send())).collect();
    for request in warm {
        assert_eq!(request.await.unwrap().unwrap().status(), 200);
    }
    let burst: Vec<_> = (0..24)
        .map(|n| {
            let request = client
                .post(format!("{base}/api/auth/signup"))
                .json(&serde_json::json!({ "email": format!("user{n}@example.com"), "password": "long enough password" }))
                .send();
            tokio::spawn(request)
        })
        .collect();
    // Signal only once the server has begun every request of the burst.
    tokio::task::spawn_blocking(move || {
        for n in 0..24 {
            started_rx
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("only {n} requests started"));
        }
    })
    .await
    .unwrap();
    let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(status.success());

    for (n, request) in burst.into_iter().enumerate() {
        let response = request.await.unwrap().unwrap_or_else(|e| panic!("request {n} was dropped: {e:?}"));
        assert_eq!(response.status(), 201, "request {n}");
    }

    // The process exits by itself, with success.
    let mut exit = None;
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            exit = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exit = exit.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("storegate did not exit within 10 s of SIGTERM")
    });
    assert!(exit.success(), "exit status {exit:?}");
    // And nothing listens any more.
    assert!(client.get(format!("{base}/healthz")).send().await.is_err(), "new connections must be refused");
}

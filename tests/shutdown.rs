//! Graceful shutdown of the real binary: SIGTERM while requests are in
//! their handlers refuses new connections at once, lets those requests
//! finish, and exits with status 0.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// The longest the test waits for anything that must happen.
const PATIENCE: Duration = Duration::from_secs(10);
/// Requests held in their handlers across the signal.
const HELD: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_refuses_new_connections_and_finishes_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_storegate"))
        .arg("serve")
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display()))
        .env("JWT_SECRET", "shutdown-test-secret-of-at-least-32-bytes")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first line names the bound address: "storegate is listening on http://127.0.0.1:PORT".
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    // Keep reading, so the server never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let address: SocketAddr = first
        .trim()
        .strip_prefix("storegate is listening on http://")
        .unwrap_or_else(|| panic!("{first}"))
        .parse()
        .unwrap();

    // Each sign-up's body is held back until the server asks for it: the
    // `100 Continue` comes when the handler reads the body, so every one
    // of them is in flight when the signal arrives.
    let mut held = Vec::new();
    for n in 0..HELD {
        held.push(held_signup(address, n).await);
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());

    // The listener closes at once, while the held requests keep the
    // process draining.
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(address).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting connections {PATIENCE:?} after SIGTERM");
        tokio::task::yield_now().await;
    }
    assert!(child.try_wait().unwrap().is_none(), "the process exited with requests in flight");

    for (n, (mut stream, body)) in held.into_iter().enumerate() {
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        timeout(PATIENCE, stream.read_to_end(&mut response))
            .await
            .unwrap_or_else(|_| panic!("request {n} not answered within {PATIENCE:?}"))
            .unwrap_or_else(|e| panic!("request {n} was dropped: {e}"));
        let response = String::from_utf8_lossy(&response);
        assert!(response.starts_with("HTTP/1.1 201 "), "request {n}: {response}");
    }

    // The process exits by itself, with success.
    let exit = timeout(PATIENCE, tokio::task::spawn_blocking(move || child.wait())).await;
    let Ok(exit) = exit else {
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        panic!("storegate did not exit within {PATIENCE:?} of SIGTERM");
    };
    let exit = exit.unwrap().unwrap();
    assert!(exit.success(), "exit status {exit:?}");
}

/// Sends the head of a sign-up with `Expect: 100-continue` and waits for
/// the `100 Continue`: the request is then in its handler, waiting for the
/// body returned here.
async fn held_signup(address: SocketAddr, n: usize) -> (TcpStream, String) {
    let body =
        serde_json::json!({ "email": format!("user{n}@example.com"), "password": "long enough password" })
            .to_string();
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut interim = Vec::new();
    let mut chunk = [0u8; 256];
    timeout(PATIENCE, async {
        while !interim.ends_with(b"\r\n\r\n") {
            let read = stream.read(&mut chunk).await.unwrap();
            assert_ne!(read, 0, "closed before 100 Continue: {:?}", String::from_utf8_lossy(&interim));
            interim.extend_from_slice(&chunk[..read]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no 100 Continue within {PATIENCE:?}"));
    assert!(interim.starts_with(b"HTTP/1.1 100 Continue\r\n"), "{:?}", String::from_utf8_lossy(&interim));
    (stream, body)
}

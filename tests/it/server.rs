//! The server's own defences against slow clients (slowloris): header and body timeouts, with
//! no cap per address, so that a thousand slow connections from one address neither starve
//! other requests nor stay open.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use yijian_web::{ConnectionLimits, WebOptions};

use crate::harness::{Backend, InProcess};

const SLOW: usize = 1000;

/// Sends a request's headers a byte at a time, never finishing them, until the server closes
/// the connection; returns how long that took.
async fn slow_client(addr: String, opened: tokio::sync::mpsc::Sender<()>) -> Duration {
    let start = Instant::now();
    let stream = TcpStream::connect(&addr).await.expect("connects");
    let (mut read, mut write) = stream.into_split();
    opened.send(()).await.unwrap();
    let headers = b"GET / HTTP/1.1\r\nHost: yijian\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let dribble = async {
        for b in headers.iter().cycle() {
            if write.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    let mut buf = [0u8; 1024];
    tokio::select! {
        // The server closes: end of stream, or a reset (after whatever it says first).
        () = async { while matches!(read.read(&mut buf).await, Ok(n) if n > 0) {} } => {},
        () = dribble => {},
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_do_not_hold_the_server() {
    // A thousand sockets here and a thousand in the server, in this one process.
    yijian_web::raise_open_files_limit();
    let limits = ConnectionLimits { header_read_timeout: Duration::from_secs(4), ..ConnectionLimits::default() };
    let app = InProcess::start(Backend::Sqlite, WebOptions { connections: limits, ..Default::default() }).await;
    let addr = app.base.trim_start_matches("http://").to_string();

    let (opened_tx, mut opened) = tokio::sync::mpsc::channel(SLOW);
    let slow: Vec<_> = (0..SLOW).map(|_| tokio::spawn(slow_client(addr.clone(), opened_tx.clone()))).collect();
    for _ in 0..SLOW {
        opened.recv().await.unwrap();
    }
    // All thousand, from one address, are open; others are still answered promptly.
    for _ in 0..5 {
        let started = Instant::now();
        let res = reqwest::Client::new().get(app.url("/api/v1/consultations")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(2), "a normal request took {:?}", started.elapsed());
    }
    assert!(slow.iter().all(|t| !t.is_finished()), "the slow connections were still open meanwhile");

    // The server closes every slow connection itself, at the header timeout, well within a minute.
    let closed = tokio::time::timeout(Duration::from_secs(60), futures_util::future::join_all(slow))
        .await
        .expect("the server closed every slow connection within a minute");
    for took in closed {
        let took = took.unwrap();
        assert!(took >= Duration::from_secs(3) && took < Duration::from_secs(30), "closed after {took:?}");
    }
    let res = reqwest::Client::new().get(app.url("/api/v1/consultations")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// A body that trickles in is cut off at its deadline with 408, however steadily it trickles.
#[tokio::test]
async fn a_trickling_body_is_cut_off_at_its_deadline() {
    let limits = ConnectionLimits { body_read_timeout: Duration::from_secs(2), ..ConnectionLimits::default() };
    let app = InProcess::start(Backend::Sqlite, WebOptions { connections: limits, ..Default::default() }).await;
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    let head = format!(
        "POST /api/v1/consultations/{}/comments HTTP/1.1\r\nHost: yijian\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
        crate::harness::DEMO_ID
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (mut read, mut write) = stream.into_split();
    let trickle = tokio::spawn(async move {
        // A byte every 300 ms: never a pause long enough for a per-frame timeout.
        while write.write_all(b" ").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), read.read_to_end(&mut answer))
        .await
        .expect("the server ended the request")
        .ok();
    trickle.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(started.elapsed() >= Duration::from_secs(2) && started.elapsed() < Duration::from_secs(10));
}

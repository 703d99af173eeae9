//! Serving connections: hyper with a timer and limits, so that slow or idle clients are cut off
//! by the server itself and cannot hold it without a reverse proxy in front (slowloris).
//!
//! `axum::serve` builds hyper without a timer, so hyper's header-read timeout never fires, and
//! it limits neither connections nor slow bodies. Here each connection gets:
//! - a header-read timeout (hyper's): the request line and headers must arrive within it,
//!   counted from the connection's opening or from the end of the previous response, so it is
//!   also how long an idle kept-alive connection is kept;
//! - a body deadline: the whole request body must arrive within it from the end of the headers
//!   (one deadline, not one per frame: a byte every few seconds does not keep a request alive);
//! - a send timeout: a client that takes nothing of a response for this long is cut off;
//! - and the server holds at most `max_connections` at once; past that, new connections wait in
//!   the kernel's queue until one ends. There is no cap per address: a reverse proxy is one.
//!
//! On shutdown (SIGTERM) the listener is closed, idle kept-alive connections are closed, and the
//! requests under way get until `drain_timeout` to finish; whatever still runs then is cut (its
//! connection closed, its handler dropped). A comment is acknowledged only after its commit, so
//! a cut request loses nothing that was promised.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};

/// The server's limits on connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// For the request line and headers; also how long an idle kept-alive connection is kept.
    pub header_read_timeout: Duration,
    /// For the whole request body, from the end of the headers.
    pub body_read_timeout: Duration,
    /// How long a client may take nothing of a response before it is cut off.
    pub send_timeout: Duration,
    /// Connections held at once, from all addresses together.
    pub max_connections: usize,
    /// On shutdown, how long the requests under way may take to finish before they are cut.
    pub drain_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            send_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            // With the store's close after it, the process ends well within systemd's
            // TimeoutStopSec and the 10 s a node promises.
            drain_timeout: Duration::from_secs(8),
        }
    }
}

/// Where the server is in its life; connections watch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Serving,
    /// Finish the request under way, take no other.
    Draining,
    /// The drain deadline has passed: close now.
    Cut,
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests under way
/// finish (idle connections are closed at once), cutting those still running after
/// `limits.drain_timeout`, before returning.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let (stop, stopped) = watch::channel(Phase::Serving);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin, as
                    // axum::serve does. A connection reset before it was accepted is nothing.
                    if !matches!(e.kind(), std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset) {
                        tracing::error!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, peer, app.clone(), limits, stopped.clone(), permit));
    }
    drop(listener);
    let _ = stop.send(Phase::Draining);
    // Each connection holds a permit until it ends: when all are back, every connection is done.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.drain_timeout, permits.acquire_many(all)).await.is_err() {
        let running = max - permits.available_permits();
        tracing::warn!(connections = running, "drain deadline reached: the requests still running are cut");
        let _ = stop.send(Phase::Cut);
        let _ = permits.acquire_many(all).await;
    }
    Ok(())
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    mut stopped: watch::Receiver<Phase>,
    _permit: tokio::sync::OwnedSemaphorePermit,
) {
    let origin = Instant::now();
    let stall = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Watched { inner: stream, stall: stall.clone(), origin });
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(respond(app, req, peer, limits.body_read_timeout).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut watch_sending = tokio::time::interval((limits.send_timeout / 4).max(Duration::from_millis(100)));
    let mut stopping = false;
    match *stopped.borrow_and_update() {
        Phase::Serving => {}
        Phase::Draining => {
            stopping = true;
            conn.as_mut().graceful_shutdown();
        }
        Phase::Cut => return,
    }
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                break;
            }
            changed = stopped.changed() => {
                // The sender gone means the server is gone: nothing is left to finish for.
                let phase = if changed.is_ok() { *stopped.borrow_and_update() } else { Phase::Cut };
                match phase {
                    Phase::Draining if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    Phase::Cut => {
                        tracing::debug!(%peer, "connection cut at the drain deadline");
                        break;
                    }
                    _ => {}
                }
            }
            _ = watch_sending.tick() => {
                let since = stall.load(Ordering::Relaxed);
                if since != 0 && origin.elapsed().saturating_sub(Duration::from_millis(since - 1)) >= limits.send_timeout {
                    tracing::debug!(%peer, "the client took nothing of the response: connection closed");
                    break;
                }
            }
        }
    }
}

/// Runs the request through the application, its body held to the deadline; a body that missed
/// it is answered 408 and the connection closed.
async fn respond(app: Router, req: Request<Incoming>, peer: SocketAddr, body_timeout: Duration) -> Response<Body> {
    use tower_service::Service;
    let expired = Arc::new(AtomicBool::new(false));
    let deadline = Box::pin(tokio::time::sleep(body_timeout));
    let mut req =
        req.map(|incoming| Body::new(Deadline { inner: Body::new(incoming), deadline, expired: expired.clone() }));
    req.extensions_mut().insert(ConnectInfo(peer));
    let mut app = app;
    let res = match app.call(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    if !expired.load(Ordering::Relaxed) {
        return res;
    }
    let t = (crate::texts::texts(yijian_domain::Lang::Zh), crate::texts::texts(yijian_domain::Lang::En));
    let mut res = Response::new(Body::from(format!("{}\n{}\n", t.0.request_body_too_slow, t.1.request_body_too_slow)));
    *res.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// A request body that fails once its deadline has passed.
struct Deadline {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimeout;

impl hyper::body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimeout))));
        }
        Pin::new(&mut this.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's socket, noting since when a write has waited on the client (in
/// milliseconds from `origin`, plus one; zero while writes go through).
struct Watched {
    inner: TcpStream,
    stall: Arc<AtomicU64>,
    origin: Instant,
}

impl Watched {
    fn note<T>(&self, polled: Poll<T>) -> Poll<T> {
        if polled.is_pending() {
            if self.stall.load(Ordering::Relaxed) == 0 {
                let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
                self.stall.store(ms + 1, Ordering::Relaxed);
            }
        } else {
            self.stall.store(0, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.note(polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.note(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.note(polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Raises this process's soft limit on open files to its hard limit, so that the connections
/// allowed can be held (a common soft default is 1,024). Returns the limit now in force.
pub fn raise_open_files_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!(error = %e, "cannot raise the open-files limit");
        }
    }
    getrlimit(Resource::Nofile).current
}

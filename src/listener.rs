//! The local server's connections, kept within bounds so that slow or stalled clients cannot
//! exhaust it (file descriptors, memory) and stop `/health` from answering:
//!
//! - a request's header must arrive whole within `header_timeout` (this also bounds how long a
//!   kept-alive connection waits for its next request);
//! - a connection on which nothing moves while no request of it is being handled (a client that
//!   stops reading its answer, or sending its body) is closed after `idle_timeout`;
//! - a request is answered within `request_timeout` (408 otherwise);
//! - at most `max_connections` are open at once. At the cap, a new connection makes room by
//!   closing the oldest one that has no request being handled (typically a client still sending
//!   half a header); when every connection is busy, the new one is closed at once.
//!
//! HTTP/1.1 over hyper, with the same axum router the Lambda functions serve.

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, Sleep};

/// The bounds of the local server's connections (`sportello serve --max-connections ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// What the server knows of one connection.
struct Tracked {
    /// Requests of this connection being handled now.
    busy: AtomicUsize,
    /// Told to close it, to make room for a new connection.
    evict: Notify,
}

/// The open connections, oldest first (ids only grow).
#[derive(Default)]
struct Registry {
    open: Mutex<BTreeMap<u64, Arc<Tracked>>>,
}

impl Registry {
    /// Registers a new connection unless the cap is reached and no connection can make room.
    fn admit(&self, id: u64, max: usize) -> Option<Arc<Tracked>> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.len() >= max {
            let victim = open.iter().find(|(_, c)| c.busy.load(Ordering::Acquire) == 0).map(|(id, _)| *id)?;
            if let Some(c) = open.remove(&victim) {
                c.evict.notify_one();
            }
        }
        let tracked = Arc::new(Tracked { busy: AtomicUsize::new(0), evict: Notify::new() });
        open.insert(id, tracked.clone());
        Some(tracked)
    }

    fn remove(&self, id: u64) {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}

/// Counts a request as being handled until dropped.
struct Busy(Arc<Tracked>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The socket, closed with an error once nothing has moved on it for the idle timeout while no
/// request is being handled.
struct IdleIo {
    inner: TcpStream,
    tracked: Arc<Tracked>,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl IdleIo {
    fn new(inner: TcpStream, tracked: Arc<Tracked>, timeout: Duration) -> Self {
        Self { inner, tracked, timeout, deadline: Box::pin(tokio::time::sleep(timeout)) }
    }

    fn moved(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.timeout);
    }

    /// With the socket pending: an error once the connection has been idle too long.
    fn poll_idle<T>(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<T>> {
        if self.tracked.busy.load(Ordering::Acquire) > 0 {
            // The handler is working: the answer will move the socket again.
            self.moved();
            return Poll::Pending;
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "idle connection"))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for IdleIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.poll_idle(cx),
        }
    }
}

impl AsyncWrite for IdleIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(result) => {
                self.moved();
                Poll::Ready(result)
            }
            Poll::Pending => self.poll_idle(cx),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Ready(result) => Poll::Ready(result),
            Poll::Pending => self.poll_idle(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// 408 when a request (its body included) is not answered in time.
async fn within(timeout: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => crate::http::Problem::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            format!("the request was not completed within {} s", timeout.as_secs()),
        )
        .into_response(),
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes; then stops accepting,
/// lets the requests under way finish (for up to 10 s) and returns how many connections were
/// still open when it gave up waiting.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<usize> {
    let app = app.layer(axum::middleware::from_fn(move |request, next| within(limits.request_timeout, request, next)));
    let registry = Arc::new(Registry::default());
    let (stop, stopping) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let http = Arc::new(http);
    tokio::pin!(shutdown);
    let mut next_id: u64 = 0;
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a moment rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        next_id += 1;
        let id = next_id;
        let Some(tracked) = registry.admit(id, limits.max_connections.max(1)) else {
            // Every connection is handling a request: this one is refused (closed).
            tracing::debug!("connection refused: at the cap and every connection busy");
            continue;
        };
        tracing::trace!(connection = id, "connection accepted");
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(IdleIo::new(stream, tracked.clone(), limits.idle_timeout));
        let (app, http, registry, mut stopping) = (app.clone(), http.clone(), registry.clone(), stopping.clone());
        tokio::spawn(async move {
            let counted = tracked.clone();
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                counted.busy.fetch_add(1, Ordering::AcqRel);
                let busy = Busy(counted.clone());
                let app = app.clone();
                async move {
                    let _busy = busy;
                    tower::ServiceExt::oneshot(app, request.map(axum::body::Body::new)).await
                }
            });
            let connection = http.serve_connection(io, service);
            tokio::pin!(connection);
            tokio::select! {
                // Closed by the client, a timeout, or an error: nothing to report (no address is
                // logged: it can identify a person).
                _ = connection.as_mut() => {}
                // Evicted to make room: dropping the connection closes the socket.
                () = tracked.evict.notified() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(10), connection).await;
                }
            }
            registry.remove(id);
            tracing::trace!(connection = id, "connection closed");
        });
    }
    let _ = stop.send(true);
    // Let the connections under way finish their requests.
    let deadline = Instant::now() + Duration::from_secs(10);
    let open = || registry.open.lock().unwrap_or_else(|p| p.into_inner()).len();
    while open() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(open())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let r = Registry::default();
        let a = r.admit(1, 2).unwrap();
        let b = r.admit(2, 2).unwrap();
        a.busy.store(1, Ordering::Release);
        // 1 is busy: 2 goes.
        assert!(r.admit(3, 2).is_some());
        let open: Vec<u64> = r.open.lock().unwrap().keys().copied().collect();
        assert_eq!(open, [1, 3]);
        drop(b);
        // Every one busy: the newcomer is refused.
        r.open.lock().unwrap()[&3].busy.store(1, Ordering::Release);
        assert!(r.admit(4, 2).is_none());
    }
}

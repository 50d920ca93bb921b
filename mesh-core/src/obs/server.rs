//! The HTTP endpoint: one thread, plain HTTP/1.1 `GET` only, one request per connection,
//! requests bounded in size and time, so a slow or hostile scraper cannot hold the node.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use prometheus_client::registry::Registry;

use super::Health;

/// Largest request head read.
const MAX_REQUEST: usize = 8 << 10;
/// How long a client may take to send its request or read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the accept loop looks at the stop flag.
const ACCEPT_POLL: Duration = Duration::from_millis(20);

/// The endpoint could not start, or a request to one failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObsError {
    /// The address could not be bound.
    #[error("cannot serve metrics on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A request to an endpoint failed.
    #[error("request to {addr}{path} failed: {source}")]
    Request {
        /// The endpoint.
        addr: SocketAddr,
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// An endpoint answered with something other than HTTP.
    #[error("{addr} did not answer with HTTP")]
    NotHttp {
        /// The endpoint.
        addr: SocketAddr,
    },
}

/// A running endpoint; stops (and joins its thread) when dropped.
#[derive(Debug)]
pub struct ObsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ObsServer {
    /// Serves `registry` and `health` on `addr` (port 0 picks a free port; see
    /// [`local_addr`](Self::local_addr)).
    ///
    /// # Errors
    /// [`ObsError::Bind`] when the address cannot be bound.
    pub fn start(addr: SocketAddr, registry: Registry, health: Health) -> Result<Self, ObsError> {
        let bind = |source| ObsError::Bind { addr, source };
        let listener = TcpListener::bind(addr).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("omni-obs".into())
            .spawn(move || serve(&listener, &registry, &health, &stop_flag))
            .map_err(bind)?;
        Ok(Self {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `GET path` on this endpoint: status code and body.
    ///
    /// # Errors
    /// As [`get`].
    pub fn get(&self, path: &str) -> Result<(u16, String), ObsError> {
        get(self.addr, path)
    }
}

impl Drop for ObsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `GET path` from the endpoint at `addr`: status code and body (a small client for tools
/// and tests).
///
/// # Errors
/// [`ObsError::Request`] on a connection or I/O failure, [`ObsError::NotHttp`] when the
/// answer is not an HTTP response.
pub fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), ObsError> {
    let fail = |source| ObsError::Request {
        addr,
        path: path.to_owned(),
        source,
    };
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(fail)?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(fail)?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(fail)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(fail)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(fail)?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or(ObsError::NotHttp { addr })?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(ObsError::NotHttp { addr })?;
    Ok((status, body.to_owned()))
}

fn serve(listener: &TcpListener, registry: &Registry, health: &Health, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(e) = answer(stream, registry, health) {
                    tracing::debug!(error = %e, "metrics request failed");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(ACCEPT_POLL);
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics endpoint accept failed");
                std::thread::sleep(ACCEPT_POLL);
            }
        }
    }
}

/// Reads one request head and writes the answer.
fn answer(mut stream: TcpStream, registry: &Registry, health: &Health) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_REQUEST {
            return respond(&mut stream, 431, "text/plain", "request too large\n");
        }
    }
    let line = String::from_utf8_lossy(&head);
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method != "GET" {
        return respond(&mut stream, 405, "text/plain", "only GET is served\n");
    }
    let path = target.split('?').next().unwrap_or("");
    match path {
        "/metrics" => {
            let mut text = String::new();
            if prometheus_client::encoding::text::encode(&mut text, registry).is_err() {
                return respond(&mut stream, 500, "text/plain", "encoding failed\n");
            }
            respond(
                &mut stream,
                200,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                &text,
            )
        }
        "/healthz" => {
            let state = health.state().as_str();
            let code = if health.alive() { 200 } else { 503 };
            respond(&mut stream, code, "text/plain", &format!("{state}\n"))
        }
        "/readyz" => {
            let state = health.state().as_str();
            let code = if health.ready() { 200 } else { 503 };
            respond(&mut stream, code, "text/plain", &format!("{state}\n"))
        }
        _ => respond(
            &mut stream,
            404,
            "text/plain",
            "not found; try /metrics, /healthz or /readyz\n",
        ),
    }
}

fn respond(stream: &mut TcpStream, code: u16, kind: &str, body: &str) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    write!(
        stream,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

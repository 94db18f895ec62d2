//! Another origin on loopback, where the `redirect-login` and `redirect-audit` faults send a
//! client: it records every request it receives (method, path, headers, body) and answers as a
//! look-alike tenant would (a token for a login, an empty page otherwise), so that a client
//! that follows it and carries on is caught by what was recorded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request received at the other origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Every header, `name: value`.
    pub headers: Vec<String>,
    pub body: String,
}

/// The listener and what it received.
#[derive(Debug)]
pub struct Elsewhere {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl Drop for Elsewhere {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the other origin on a free loopback port.
pub async fn start() -> std::io::Result<Elsewhere> {
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let received: Arc<Mutex<Vec<Recorded>>> = Arc::default();
    let log = Arc::clone(&received);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let service = service_fn(move |req| answer(Arc::clone(&log), req));
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(Elsewhere { addr, received, task })
}

async fn answer(
    log: Arc<Mutex<Vec<Recorded>>>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let headers =
        parts.headers.iter().map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes()))).collect();
    let path = parts.uri.path().to_string();
    log.lock().unwrap_or_else(|e| e.into_inner()).push(Recorded {
        method: parts.method.to_string(),
        path: path.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let reply = if path == super::server::LOGIN_PATH {
        r#"{"authToken":"token-from-elsewhere","creationTime":"2020-01-01T00:00:00Z","expirationTime":"2099-01-01T00:00:00Z"}"#
    } else {
        r#"{"results":[],"paging":{"limit":100}}"#
    };
    let mut response = Response::new(Full::new(Bytes::from_static(reply.as_bytes())));
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, "application/json".parse().expect("static"));
    Ok(response)
}

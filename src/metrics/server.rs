//! The metrics endpoint: `GET /metrics` answers the registry in the Prometheus text format;
//! anything else is 404. It runs on the run's tokio runtime and stops with it.

use super::Metrics;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// A running metrics endpoint; dropping it stops the listener.
#[derive(Debug)]
pub struct MetricsServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(metrics: &Metrics, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, body, content_type) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => (StatusCode::OK, metrics.render(), "text/plain; version=0.0.4; charset=utf-8"),
        _ => (StatusCode::NOT_FOUND, "not found: metrics are at /metrics\n".to_string(), "text/plain; charset=utf-8"),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Listens on `addr` (port 0 picks a free one) and serves `metrics` until dropped.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<MetricsServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let metrics = Arc::clone(&metrics);
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let response = answer(&metrics, &req);
                    async move { Ok::<_, std::convert::Infallible>(response) }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(MetricsServer { addr, task })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn metrics_are_served_over_http() {
        let metrics = Arc::new(Metrics::new());
        metrics.add("records_fetched_total", &["audit"], 42);
        let server = serve("127.0.0.1:0".parse().unwrap(), Arc::clone(&metrics)).await.unwrap();
        let client = reqwest::Client::new();
        let r = client.get(format!("http://{}/metrics", server.addr)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        assert!(r.text().await.unwrap().contains("ocsf_engine_records_fetched_total{stream=\"audit\"} 42\n"));
        let r = client.get(format!("http://{}/", server.addr)).send().await.unwrap();
        assert_eq!(r.status(), 404);
    }
}

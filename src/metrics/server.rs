//! The metrics endpoint: `GET /metrics` answers the registry in the OpenMetrics text format,
//! `GET /healthz` 200 while the process serves, `GET /readyz` 200 when the run is ready (see
//! health.rs) and 503 with the reason when not; anything else is 404. It runs on the run's
//! tokio runtime and stops with it.

use super::{Health, Metrics};
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

/// The content type of the OpenMetrics text format, which Prometheus asks for first.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn answer(metrics: &Metrics, health: Option<&Health>, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    const TEXT: &str = "text/plain; charset=utf-8";
    let (status, body, content_type) = match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => (StatusCode::OK, metrics.render(), OPENMETRICS),
        (&Method::GET, "/healthz") => (StatusCode::OK, "ok\n".to_string(), TEXT),
        (&Method::GET, "/readyz") => match health.map_or(Ok(()), Health::readiness) {
            Ok(()) => (StatusCode::OK, "ready\n".to_string(), TEXT),
            Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n"), TEXT),
        },
        _ => (
            StatusCode::NOT_FOUND,
            "not found: metrics are at /metrics, probes at /healthz and /readyz\n".to_string(),
            TEXT,
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Listens on `addr` (port 0 picks a free one) and serves `metrics` until dropped; `/readyz`
/// answers ready.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<MetricsServer> {
    serve_with_health(addr, metrics, None).await
}

/// [`serve`], with `/readyz` answering what `health` says.
pub async fn serve_with_health(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: Option<Arc<Health>>,
) -> std::io::Result<MetricsServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let metrics = Arc::clone(&metrics);
            let health = health.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let response = answer(&metrics, health.as_deref(), &req);
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
        assert!(r.headers()[CONTENT_TYPE].to_str().unwrap() == OPENMETRICS);
        assert!(r.text().await.unwrap().contains("ocsf_engine_records_fetched_total{stream=\"audit\"} 42\n"));
        let r = client.get(format!("http://{}/", server.addr)).send().await.unwrap();
        assert_eq!(r.status(), 404);
    }

    #[tokio::test]
    async fn probes_answer_beside_the_metrics() {
        let health = Arc::new(Health::new(std::time::Duration::from_secs(60)));
        let server =
            serve_with_health("127.0.0.1:0".parse().unwrap(), Arc::new(Metrics::new()), Some(Arc::clone(&health)))
                .await
                .unwrap();
        let client = reqwest::Client::new();
        let get = |path: &str| client.get(format!("http://{}{path}", server.addr)).send();
        assert_eq!(get("/healthz").await.unwrap().status(), 200);
        let r = get("/readyz").await.unwrap();
        assert_eq!(r.status(), 503);
        assert_eq!(r.text().await.unwrap(), "not ready: no poll has succeeded yet\n");
        health.polled(true);
        let r = get("/readyz").await.unwrap();
        assert_eq!((r.status().as_u16(), r.text().await.unwrap()), (200, "ready\n".to_string()));
    }
}

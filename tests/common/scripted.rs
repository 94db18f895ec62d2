//! A scripted HTTP server on loopback for answers the simulator does not give: each request
//! (method, path, headers, body) is recorded and answered by the test's function, one request
//! per connection.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header lines, `name: value`, names lower-cased.
    pub headers: Vec<String>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{}: ", name.to_ascii_lowercase());
        self.headers.iter().find_map(|h| h.strip_prefix(&prefix))
    }
}

/// An answer: status, extra headers, body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Answer { status, headers: vec![("Content-Type".into(), "application/json".into())], body: body.into() }
    }
}

/// A running scripted server.
pub struct Scripted {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Request>>>,
}

impl Scripted {
    pub fn requests(&self) -> Vec<Request> {
        self.received.lock().unwrap().clone()
    }
}

/// Serves `answer` on a free loopback port until the runtime ends.
pub async fn serve(answer: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Arc<Mutex<Vec<Request>>> = Arc::default();
    let log = Arc::clone(&received);
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (log, answer) = (Arc::clone(&log), Arc::clone(&answer));
            tokio::spawn(async move {
                let Some(request) = read_request(&mut stream).await else { return };
                let reply = answer(&request);
                log.lock().unwrap().push(request);
                let mut head = format!(
                    "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    reply.status,
                    reply.body.len()
                );
                for (k, v) in &reply.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(reply.body.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Scripted { addr, received }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Request> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<String> = lines
        .map(|l| match l.split_once(':') {
            Some((k, v)) => format!("{}: {}", k.trim().to_ascii_lowercase(), v.trim()),
            None => l.to_string(),
        })
        .collect();
    let length: usize = headers.iter().find_map(|h| h.strip_prefix("content-length: ")?.parse().ok()).unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some(Request { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

/// A record of the bundled fixtures with `id`, dated ten minutes ago.
pub fn recent_record(id: &str) -> serde_json::Value {
    let fixture = super::pipeline::root()
        .join("tests/fixtures/entrust/authentication/AuthenticationPasswordSuccessEvent/success.json");
    let mut record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let at = ocsf_engine::source::timefmt::now_ms() - 10 * 60_000;
    record["eventTime"] = ocsf_engine::source::timefmt::iso_millis(at).into();
    record["id"] = id.into();
    record
}

/// A scripted Entrust tenant: it answers its login with a token, and every audit request
/// with the page `page` makes of the request's JSON body (its `cursor` is `body["cursor"]`).
pub async fn entrust(page: impl Fn(&serde_json::Value) -> String + Send + Sync + 'static) -> Scripted {
    serve(move |req| {
        if req.path == ocsf_engine::simulator::LOGIN_PATH {
            Answer::json(200, r#"{"authToken":"tok-page-0123456789","expirationTime":"2099-01-01T00:00:00Z"}"#)
        } else {
            Answer::json(200, page(&serde_json::from_str(&req.body).unwrap_or_default()))
        }
    })
    .await
}

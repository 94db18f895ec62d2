//! A run's first contact when no window is due yet (a first run with the default look-back,
//! `PT0H`, a dry run, a restart within the settle delay): log in and read the head of the
//! current window, its first page, whose records are left for the window's real read. Bad
//! credentials, an unreachable host, a TLS or DNS failure end the run there (exit 3) instead
//! of a run that reports success without having talked to the API.

use super::http::{Api, CallError};
use super::pager::Pager;
use super::window::{Planner, Position, Window};
use crate::source::stream::StreamSpec;

/// Logs in and reads the first page of the window that ends at `now_ms`.
pub async fn probe(
    api: &mut Api,
    stream: &StreamSpec,
    params: minijinja::Value,
    planner: &Planner,
    pos: Position,
    now_ms: i64,
) -> Result<(), String> {
    let pager = Pager::new(stream, params);
    let step = planner.precision_ms.max(1);
    let end = planner.align(now_ms);
    let window_ms = i64::try_from(planner.window.as_millis()).unwrap_or(i64::MAX / 4);
    let start = planner.align(pos.resume_from_ms.max(end.saturating_sub(window_ms))).min(end - step);
    let req = pager.request(Window { start_ms: start, end_ms: end }, None)?;
    let method = reqwest::Method::from_bytes(stream.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    match api.call(&method, &stream.path, &req.query, req.body.as_ref(), |_: &super::http::Reply| Ok(())).await {
        Ok(()) | Err(CallError::Stopped) => Ok(()),
        Err(e) => Err(format!("stream `{}`: first contact with {}: {e}", stream.name, api.base())),
    }
}

//! Starting and stopping a simulator: `start(config)` and the `SimHandle` tests and the runner hold.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::config::{Credentials, SimConfig};
use super::errors::SimError;
use super::faults::Fault;
use super::hosts::Hosts;
use super::server::{self, Shared};
use super::tenant::Tenant;

/// How long shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Starts a simulator on `config.bind:config.port` (port 0 picks a free port) and serves
/// until [`SimHandle::shutdown`] or until the handle is dropped.
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    config.validate().map_err(SimError::Config)?;
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = TcpListener::bind(addr).await.map_err(|source| SimError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(|source| SimError::Bind { addr, source })?;
    let generated = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || Tenant::generate(&config)).await
    };
    let tenant = generated.map_err(|e| SimError::Config(format!("tenant generation failed: {e}")))?;
    // The other origin of the redirect faults.
    let elsewhere = if Fault::REFUSED.iter().any(|f| config.faults.kinds.contains(f)) {
        let e = super::elsewhere::start().await.map_err(|source| SimError::Bind { addr, source })?;
        Some(e)
    } else {
        None
    };
    let mut shared = Shared::new(config, tenant);
    shared.elsewhere = elsewhere.as_ref().map(|e| e.addr);
    let shared = Arc::new(shared);
    let hosts = Arc::new(Hosts::new(Arc::clone(&shared)));
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(serve(listener, Arc::clone(&hosts), stopped));
    Ok(SimHandle { addr: local, shared, stop, task: Some(task), elsewhere })
}

async fn serve(listener: TcpListener, hosts: Arc<Hosts>, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let hosts = Arc::clone(&hosts);
                    let mut stop = stopped.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |req| server::handle(Arc::clone(&hosts), peer, req));
                        // No timer, hence no header-read timeout: idle keep-alive connections
                        // stay open, so a pooled client never races a server-side close.
                        let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                        tokio::pin!(conn);
                        tokio::select! {
                            _ = conn.as_mut() => {}
                            _ = stop.changed() => {
                                conn.as_mut().graceful_shutdown();
                                let _ = conn.await;
                            }
                        }
                    });
                }
                // Out of file descriptors or a reset before accept: wait a moment, go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            _ = stopped.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained =
        tokio::time::timeout(SHUTDOWN_GRACE, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        connections.abort_all();
    }
}

/// A running simulator.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    elsewhere: Option<super::elsewhere::Elsewhere>,
}

impl SimHandle {
    /// The address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Holds every API request from now on until [`SimHandle::release_requests`].
    pub fn hold_requests(&self) {
        self.shared.gate.set_open(false);
    }

    /// Serves the held requests and every later one.
    pub fn release_requests(&self) {
        self.shared.gate.set_open(true);
    }

    /// Returns once at least `n` requests are being held.
    pub async fn requests_held(&self, n: usize) {
        self.shared.gate.waiting(n).await;
    }

    /// Holds audit page requests (logins pass) from now on until [`SimHandle::release_pages`].
    pub fn hold_pages(&self) {
        self.shared.pages_gate.set_open(false);
    }

    /// Serves the held page requests and every later one.
    pub fn release_pages(&self) {
        self.shared.pages_gate.set_open(true);
    }

    /// Returns once at least `n` page requests are being held.
    pub async fn pages_held(&self, n: usize) {
        self.shared.pages_gate.waiting(n).await;
    }

    /// The most audit page requests the simulator was serving at once (held ones included).
    pub fn pages_peak(&self) -> usize {
        self.shared.pages_peak.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The other origin the redirect faults point at, when one of them is enabled.
    pub fn elsewhere_addr(&self) -> Option<SocketAddr> {
        self.elsewhere.as_ref().map(|e| e.addr)
    }

    /// Every request the other origin received.
    pub fn elsewhere_received(&self) -> Vec<super::elsewhere::Recorded> {
        self.elsewhere
            .as_ref()
            .map(|e| e.received.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .unwrap_or_default()
    }

    /// Answers sent gzipped.
    pub fn gzip_responses(&self) -> u64 {
        self.shared.gzipped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `host:port`, what Entrust calls the tenant `hostname` (served over plain HTTP).
    pub fn hostname(&self) -> String {
        self.addr.to_string()
    }

    /// `http://host:port`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The Admin API application that can log in.
    pub fn credentials(&self) -> &Credentials {
        &self.shared.config.credentials
    }

    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// The tenant's `accountId`.
    pub fn account_id(&self) -> String {
        self.shared.tenant().account_id().to_string()
    }

    /// The ground truth: every record id currently in the tenant, in SIEM order
    /// (ascending `eventTime`, then id). Includes login, late and appended records.
    pub fn record_ids(&self) -> Vec<String> {
        self.shared.tenant().ids()
    }

    /// Every record as the API returns it, in SIEM order.
    pub fn records(&self) -> Vec<serde_json::Value> {
        self.shared.tenant().records().iter().filter_map(|r| serde_json::to_value(&r.event).ok()).collect()
    }

    /// Records the default tenant holds in memory now: its generated chunks kept (a few at
    /// most, `chunks.rs`) and its inserted records.
    pub fn resident_records(&self) -> usize {
        self.shared.tenant().resident()
    }

    /// Ids of the records served as poison (the `poison-records` fault): a client cannot
    /// deliver them and dead-letters each once. They are in [`SimHandle::record_ids`] too.
    pub fn poison_record_ids(&self) -> Vec<String> {
        self.shared.tenant().poison_ids()
    }

    /// Ids of records that arrived late (the `late-records` fault and
    /// [`SimHandle::insert_late_records`]).
    pub fn late_record_ids(&self) -> Vec<String> {
        self.shared.tenant().late_ids()
    }

    /// Inserts `n` records dated between 1 s and the configured `late_max_behind` before the
    /// tenant's current time, as if written late. Returns their ids.
    pub fn insert_late_records(&self, n: usize) -> Vec<String> {
        let max = i64::try_from(self.shared.config.faults.late_max_behind.as_millis()).unwrap_or(i64::MAX);
        self.shared.tenant_mut().insert_late_records(n, max)
    }

    /// Inserts one late record at each of `times_ms` (Unix ms), as if written long after its
    /// time. Returns their ids.
    pub fn insert_records_at(&self, times_ms: &[i64]) -> Vec<String> {
        self.shared.tenant_mut().insert_late_at(times_ms)
    }

    /// Appends `n` new events as fresh activity: dated after every existing record, within
    /// about a second of [`SimHandle::tenant_now`]. Returns their ids.
    pub fn append_events(&self, n: usize) -> Vec<String> {
        self.shared.tenant_mut().append_events(n)
    }

    /// The auth tokens issued so far (for tests that look for leaks).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.tokens().issued()
    }

    /// Makes every issued token expire now.
    pub fn expire_tokens(&self) {
        self.shared.tokens().revoke_all();
    }

    /// Rotates the application's shared secret: logins now need `new`, and every issued token
    /// is revoked, as after a rotation on a real tenant.
    pub fn rotate_shared_secret(&self, new: &str) {
        *self.shared.rotated_secret.lock().unwrap_or_else(|e| e.into_inner()) = Some(new.to_string());
        self.expire_tokens();
    }

    /// Suspends (or resumes) request faults, e.g. for a clean verification read.
    pub fn set_faults_paused(&self, paused: bool) {
        self.shared.faults().set_paused(paused);
    }

    /// Faults injected so far (for `time-variant` and `time-no-zone`: records shaped).
    pub fn fault_counts(&self) -> BTreeMap<Fault, u64> {
        self.shared.fault_counts()
    }

    /// The tenant's clock: the configured end time at start-up, then running in real time.
    pub fn tenant_now(&self) -> SystemTime {
        let ms = self.shared.tenant().now_ms();
        if ms >= 0 {
            UNIX_EPOCH + Duration::from_millis(ms as u64)
        } else {
            UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
        }
    }

    /// Stops accepting connections, lets requests in flight finish (up to 5 s), and returns
    /// when the server has stopped.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

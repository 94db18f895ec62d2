//! A local AWS endpoint for tests: moto's server, installed on first use into a virtualenv
//! under `target/moto-venv` and started on an ephemeral loopback port.
//!
//! [`Moto::start`] installs moto when the virtualenv is missing or broken (`python3 -m venv`,
//! then `pip install moto[server]==MOTO_VERSION`), starts `moto_server -H 127.0.0.1 -p 0`, reads
//! the port from the banner on standard error and keeps draining that pipe on a thread (moto
//! stalls once the pipe buffer fills). The server is killed when the handle drops. Tests reach
//! it through [`Moto::endpoint`] and [`Moto::sdk_config`], or, for a child process,
//! [`Moto::env`] (`AWS_ENDPOINT_URL`, static test credentials, region us-east-1).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The moto release the tests are written against.
pub const MOTO_VERSION: &str = "5.2.5";
pub const REGION: &str = "us-east-1";
pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";

/// Serialises installation between test threads of one binary.
static INSTALL: Mutex<()> = Mutex::new(());

fn venv_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("moto-venv")
}

fn server_bin(venv: &Path) -> PathBuf {
    venv.join("bin").join("moto_server")
}

fn python_bin(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// True when the virtualenv holds a moto that imports, at the pinned version.
fn venv_works(venv: &Path) -> bool {
    if !server_bin(venv).exists() {
        return false;
    }
    Command::new(python_bin(venv))
        .args(["-c", &format!("import moto, flask, werkzeug; assert moto.__version__ == '{MOTO_VERSION}'")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn run_step(what: &str, cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("moto harness: cannot run {what} ({cmd:?}): {e}; python3 with venv and pip is needed"))?;
    if out.status.success() {
        return Ok(());
    }
    let tail = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    };
    Err(format!("moto harness: {what} failed ({}):\n{}\n{}", out.status, tail(&out.stdout), tail(&out.stderr)))
}

/// Makes sure `target/moto-venv` holds a working moto; returns the path of `moto_server`.
pub fn ensure_installed() -> Result<PathBuf, String> {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let venv = venv_dir();
    if venv_works(&venv) {
        return Ok(server_bin(&venv));
    }
    let started = Instant::now();
    eprintln!("moto harness: installing moto[server]=={MOTO_VERSION} into {}", venv.display());
    let _ = std::fs::remove_dir_all(&venv);
    if let Some(parent) = venv.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("moto harness: cannot create {}: {e}", parent.display()))?;
    }
    run_step("python3 -m venv", Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run_step(
        "pip install",
        Command::new(python_bin(&venv))
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet"])
            .args(["--timeout", "30", "--retries", "2"])
            .arg(format!("moto[server]=={MOTO_VERSION}"))
            .env("PIP_NO_INPUT", "1"),
    )?;
    if !venv_works(&venv) {
        return Err(format!("moto harness: moto was installed into {} but does not import", venv.display()));
    }
    eprintln!("moto harness: installed in {:.1} s", started.elapsed().as_secs_f64());
    Ok(server_bin(&venv))
}

/// A running moto server; killed on drop.
pub struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    /// Installs moto if needed and starts a server on a free loopback port.
    pub fn start() -> Moto {
        match Self::try_start() {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    pub fn try_start() -> Result<Moto, String> {
        let bin = ensure_installed()?;
        let mut child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("moto harness: cannot start {}: {e}", bin.display()))?;
        let stderr = child.stderr.take().ok_or("moto harness: no stderr pipe")?;
        let (tx, rx) = mpsc::channel::<String>();
        // Reads the banner, then keeps draining the pipe until moto exits.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = String::new();
            let mut sent = false;
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if !sent && let Some(at) = line.find("Running on http://") {
                            let url = line[at + "Running on ".len()..].trim().to_string();
                            let _ = tx.send(url);
                            sent = true;
                        }
                    }
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(endpoint) => Ok(Moto { child, endpoint }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err("moto harness: moto_server printed no `Running on http://…` line within 60 s".into())
            }
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Environment for a child process that should talk to this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// An SDK configuration pointing at this server, with static test credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        use aws_config::{BehaviorVersion, Region};
        use aws_sdk_secretsmanager::config::Credentials;
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "static"))
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the `engine` binary in `dir` with `env` (e.g. [`Moto::env`]) and no AWS profile:
/// its exit code and standard error.
pub fn engine(dir: &Path, env: &[(&str, String)], args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(args)
        .current_dir(dir)
        .env_remove("AWS_PROFILE")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("engine runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Every object key in `bucket`, and its bytes saved under `dir` (as `N.parquet`).
pub async fn download(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    dir: &Path,
) -> std::collections::BTreeMap<String, std::path::PathBuf> {
    let mut out = std::collections::BTreeMap::new();
    let mut token = None;
    loop {
        let page = client.list_objects_v2().bucket(bucket).set_continuation_token(token).send().await.unwrap();
        for o in page.contents() {
            let key = o.key().unwrap().to_string();
            let body = client.get_object().bucket(bucket).key(&key).send().await.unwrap();
            let bytes = body.body.collect().await.unwrap().into_bytes();
            let path = dir.join(format!("{}.parquet", out.len()));
            std::fs::write(&path, &bytes).unwrap();
            out.insert(key, path);
        }
        match page.next_continuation_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    out
}

/// Every event of `stream` in `group`, oldest first: (timestamp, message).
pub async fn read_stream(conf: &aws_config::SdkConfig, group: &str, stream: &str) -> Vec<(i64, String)> {
    let logs = aws_sdk_cloudwatchlogs::Client::new(conf);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .limit(10_000)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("GetLogEvents");
        let events = page.events();
        for e in events {
            out.push((e.timestamp().expect("timestamp"), e.message().expect("message").to_string()));
        }
        let next = page.next_forward_token().map(str::to_string);
        if events.is_empty() || next.is_none() || next == token {
            break;
        }
        token = next;
    }
    out
}

/// The message of every event of `stream` in `group`, oldest first.
pub async fn log_messages(conf: &aws_config::SdkConfig, group: &str, stream: &str) -> Vec<String> {
    read_stream(conf, group, stream).await.into_iter().map(|(_, m)| m).collect()
}

/// The `metadata.uid` of every OCSF event of `stream` in `group`, oldest first.
pub async fn log_event_uids(conf: &aws_config::SdkConfig, group: &str, stream: &str) -> Vec<String> {
    log_messages(conf, group, stream)
        .await
        .iter()
        .map(|m| {
            let v: serde_json::Value = serde_json::from_str(m).expect("JSON");
            v["metadata"]["uid"].as_str().expect("metadata.uid").to_string()
        })
        .collect()
}

//! The local server: every endpoint on one port, the step workers and the clock in-process, on
//! the embedded store. The same routers and engine as the Lambda functions.

use crate::adapters::embedded::{self, Db};
use crate::engine::Engine;
use crate::rules::Rules;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Folder for the SQLite database; it survives restarts.
    pub data_dir: PathBuf,
    /// Rulebook file or folder.
    pub rules: PathBuf,
}

/// How often idle workers look at the queue, and how often the clock ticks.
const WORKER_IDLE: Duration = Duration::from_millis(200);
const CLOCK_TICK: Duration = Duration::from_secs(60);

/// Opens the store and the rulebook. Errors are for a person at a terminal.
pub fn engine(config: &ServerConfig) -> Result<Engine, String> {
    let rules = Rules::load(&config.rules).map_err(|errors| {
        let shown: String = errors.iter().map(|d| format!("{d}\n")).collect();
        format!("the rulebook `{}` has errors:\n\n{shown}", config.rules.display())
    })?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create the data folder `{}`: {e}", config.data_dir.display()))?;
    let db_path = config.data_dir.join("sportello.db");
    let db = Db::open(&db_path).map_err(|e| format!("cannot open `{}`: {e}", db_path.display()))?;
    Ok(Engine::new(Arc::new(rules), embedded::ports(&db)))
}

/// Runs queued steps until the process ends; on AWS, SQS invokes the step functions instead.
pub async fn run_workers(engine: Engine) {
    loop {
        match engine.run_pending_steps(50).await {
            Ok(0) => tokio::time::sleep(WORKER_IDLE).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "step worker: queue unavailable");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// The scheduled work: on AWS an EventBridge schedule, here a timer.
pub async fn run_clock(engine: Engine) {
    let mut tick = tokio::time::interval(CLOCK_TICK);
    loop {
        tick.tick().await;
        if let Err(e) = engine.purge_expired().await {
            tracing::warn!(error = %e, "clock: purge failed");
        }
    }
}

pub async fn serve(config: ServerConfig) -> Result<(), String> {
    let engine = engine(&config)?;
    for w in &engine.rules.warnings {
        tracing::warn!("rulebook: {}", w.message);
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(run_workers(engine.clone()));
    tokio::spawn(run_clock(engine.clone()));
    println!("{}", banner(addr, &config));
    let operators = crate::http::local_operator_api(engine.clone(), operators_file(&config));
    axum::serve(listener, crate::http::app(engine, operators))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

/// Where operator tokens live: `SPORTELLO_OPERATORS`, else `operators.json` in the data folder.
fn operators_file(config: &ServerConfig) -> PathBuf {
    std::env::var_os("SPORTELLO_OPERATORS").map(PathBuf::from).unwrap_or_else(|| config.data_dir.join("operators.json"))
}

fn banner(addr: SocketAddr, config: &ServerConfig) -> String {
    format!(
        "Sportello is running on http://{addr}
  rulebook: {}   data: {}

Try:
  curl http://{addr}/health
  cargo run -- rules explain --channel voice --category reminder --at 2026-12-02T10:00

Stop with Ctrl-C; tickets stay in {}.",
        config.rules.display(),
        config.data_dir.display(),
        config.data_dir.join("sportello.db").display()
    )
}

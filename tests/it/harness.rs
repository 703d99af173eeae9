//! Starting yijian for tests: in-process on a real socket (when a test needs the server's
//! state, e.g. a captcha's answer) or as the real `yijian` binary (when it must be killed),
//! on a SQLite file in a temporary directory or on a fresh PostgreSQL database.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::FutureExt;
use jiff::Timestamp;
use yijian_store::{Store, StoreOptions};
use yijian_web::{AppState, WebOptions};

pub const BIN: &str = env!("CARGO_BIN_EXE_yijian");
pub const DEMO_ID: &str = "ln-hrss-ai-2025";
/// The project's root, read when the tests run: a build cache shared between checkouts at
/// different paths may hand this binary to another checkout, so the compile-time path is only
/// the fallback.
pub fn project_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map(Into::into).unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

pub fn demo_file() -> String {
    project_dir().join("demo/ln-hrss-ai-2025.md").display().to_string()
}

/// The backends, and which of them this run covers (`YIJIAN_TEST_BACKENDS`), come from the
/// test kit, as does the database made for one PostgreSQL test.
pub use yijian_testkit::{Backend, PgDatabase};

/// Where one test keeps its data.
pub struct TestData {
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
}

impl TestData {
    pub async fn new(backend: Backend) -> TestData {
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create().await),
        };
        TestData { dir: tempfile::tempdir().unwrap(), pg }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn options(&self) -> StoreOptions {
        StoreOptions { database_url: self.pg.as_ref().map(|p| p.url.clone()), ..StoreOptions::new(self.dir.path()) }
    }

    /// The `--data` / `--database` arguments for the binary.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec!["--data".to_string(), self.dir.path().display().to_string()];
        if let Some(pg) = &self.pg {
            a.push("--database".into());
            a.push(pg.url.clone());
        }
        a
    }

    pub async fn store(&self) -> Store {
        Store::open(&self.options()).await.expect("store opens")
    }
}

/// yijian running inside the test process, on a real loopback socket.
pub struct InProcess {
    pub base: String,
    pub state: AppState,
    /// Held so the temporary directory and database live as long as the server.
    pub data: TestData,
    pub client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl InProcess {
    /// Runs a `yijian` command on this server's data, which must succeed, and returns the one
    /// JSON line it prints last (what `campaigns detect`, `articles suggest` and `themes build`
    /// report).
    pub fn command_json(&self, args: &[&str]) -> serde_json::Value {
        let o = Command::new(BIN).args(args).args(self.data.args()).output().unwrap();
        assert!(o.status.success(), "yijian {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8_lossy(&o.stdout);
        let last = out.lines().last().unwrap_or_else(|| panic!("yijian {args:?} printed nothing"));
        serde_json::from_str(last).unwrap_or_else(|e| panic!("yijian {args:?} printed {last:?}: {e}"))
    }

    /// Starts with the demo consultation loaded and open.
    pub async fn start(backend: Backend, options: WebOptions) -> InProcess {
        InProcess::start_with(backend, options, |s| s).await
    }

    /// Starts with the demo consultation, after `configure` has had its say on the state.
    pub async fn start_with(
        backend: Backend,
        options: WebOptions,
        configure: impl FnOnce(AppState) -> AppState,
    ) -> InProcess {
        let data = TestData::new(backend).await;
        let store = data.store().await;
        let mut demo = yijian_domain::file::parse(&std::fs::read_to_string(demo_file()).unwrap()).unwrap();
        let now = Timestamp::now();
        demo.meta.reschedule_from(now, 30);
        store.import_consultation(&demo, true, now).await.unwrap();
        let index = yijian_analysis::SearchIndex::open(&data.path().join("search")).unwrap();
        yijian_app::indexing::spawn(store.clone(), index.clone());
        let state = configure(AppState::new(store, options).with_search(index));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(yijian_web::serve(listener, state.clone(), std::future::pending()).map(|r| r.unwrap()));
        InProcess { base, state, data, client: reqwest::Client::new(), task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn store(&self) -> &Store {
        self.state.app.store()
    }

    /// The use cases, as the server runs them.
    pub fn app(&self) -> &yijian_app::App {
        &self.state.app
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The real `yijian serve` as a child process.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    pub stderr_log: PathBuf,
    /// The `metrics_listen` address's base URL, when the server was given one.
    pub metrics_base: Option<String>,
}

impl ServerProcess {
    pub fn spawn(data: &TestData, extra: &[&str]) -> ServerProcess {
        Self::try_spawn(data, extra, &[]).unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Starts the server; `Err` carries what it printed when it exits instead of listening.
    pub fn try_spawn(data: &TestData, extra: &[&str], env: &[(&str, &str)]) -> Result<ServerProcess, String> {
        let stderr_log =
            data.path().with_extension(format!("stderr-{}.log", hex::encode(yijian_crypto::random_bytes::<3>())));
        let mut cmd = Command::new(BIN);
        cmd.arg("serve").args(["--listen", "127.0.0.1:0"]).args(data.args()).args(extra);
        cmd.env_remove(yijian_crypto::MASTER_KEY_ENV).env("RUST_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_log).unwrap())
            .spawn()
            .expect("yijian binary runs");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // The metrics address, if any, is printed before the main one.
            let mut metrics = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("yijian metrics on ") {
                    metrics = url.strip_suffix("/metrics").map(str::to_string);
                }
                if let Some(url) = line.strip_prefix("yijian listening on ") {
                    let _ = tx.send((url.to_string(), metrics.clone()));
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok((base, metrics_base)) => Ok(ServerProcess { child, base, stderr_log, metrics_base }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(std::fs::read_to_string(&stderr_log).unwrap_or_default())
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr_log);
    }
}

/// Runs the binary with arguments; returns (exit success, stdout, stderr).
pub fn run(args: &[&str], data: Option<&TestData>) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    if let Some(d) = data {
        cmd.args(d.args());
    }
    cmd.env_remove(yijian_crypto::MASTER_KEY_ENV).env("USER", "tester");
    let out = cmd.output().expect("yijian binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A valid submission (captcha fields left to the caller).
pub fn good_body() -> serde_json::Value {
    serde_json::json!({
        "name": "张三",
        "id_number": "11010519491231002X",
        "position": "公务员",
        "phone": "138 0013 8000",
        "email": "zhangsan@example.com",
        "opinion": "建议第5条增加对中小企业的支持。",
        "articles": [5],
    })
}

/// How long one database test may take before it counts as hung.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs `test` on `backend` if this run covers it (else prints why not), failing it if it
/// hangs for [`TEST_TIMEOUT`].
pub async fn on_backend<F: std::future::Future<Output = ()>>(
    name: &str,
    backend: Backend,
    test: impl FnOnce(Backend) -> F,
) {
    if !backend.run_or_skip(name) {
        return;
    }
    // A hung test fails with a clear message instead of stalling the whole run.
    tokio::time::timeout(TEST_TIMEOUT, test(backend)).await.expect("the test did not finish in time");
}

/// Declares a test that runs once on SQLite and once on PostgreSQL (each if
/// `YIJIAN_TEST_BACKENDS` selects it; a skipped one says so on standard error).
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let name = concat!(module_path!(), "::sqlite");
                $crate::harness::on_backend(name, $crate::harness::Backend::Sqlite, super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let name = concat!(module_path!(), "::postgres");
                $crate::harness::on_backend(name, $crate::harness::Backend::Postgres, super::$name).await;
            }
        }
    };
}

/// Runs the binary with `input` on standard input; returns (exit success, stdout, stderr).
pub fn run_with_stdin(args: &[&str], data: &TestData, input: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .args(data.args())
        .env_remove(yijian_crypto::MASTER_KEY_ENV)
        .env("USER", "tester")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("yijian binary runs");
    // A command that refuses its arguments exits before reading: a broken pipe is its answer.
    if let Err(e) = child.stdin.take().unwrap().write_all(input.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// GETs a URL and reads the body as JSON.
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// Submits [`good_body`] through the API (the app must accept it without a captcha) and
/// returns the receipt.
pub async fn submit_good_comment(app: &InProcess) -> String {
    let res: serde_json::Value = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{DEMO_ID}/comments")))
        .json(&good_body())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["receipt"].as_str().unwrap_or_else(|| panic!("no receipt: {res}")).to_string()
}

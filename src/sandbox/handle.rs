//! [`SandboxHandle`]: a sandbox on its own thread and tokio runtime, bound to a
//! free loopback port, for sync tests, async tests and the demo alike.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::{Fixtures, Sandbox, SandboxOptions, serve};

/// A sandbox on `127.0.0.1:<free port>` running on its own thread and tokio
/// runtime; it stops (and drops its open connections) when the handle is dropped.
pub struct SandboxHandle {
    sandbox: Sandbox,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SandboxHandle {
    /// Binds a free loopback port and starts serving. The `{sandbox}` placeholder
    /// in the fixtures becomes this sandbox's [`SandboxHandle::url`].
    pub fn start(fixtures: Fixtures, options: SandboxOptions) -> std::io::Result<SandboxHandle> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        let fixtures = fixtures.with_base_url(&base);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("offersync-sandbox")
            .enable_all()
            .build()?;
        let sandbox = Sandbox::new(fixtures, options);
        // Before any request can arrive, so the first upload already has it.
        sandbox.set_base_url_if_unset(&base);
        let served = sandbox.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("offersync-sandbox".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("sandbox listener: {e}");
                            return;
                        }
                    };
                    tokio::select! {
                        result = serve(listener, served) => {
                            if let Err(e) = result {
                                tracing::error!("sandbox stopped: {e}");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                // Connection tasks still running (a client holding a keep-alive
                // connection, a latency sleep) are dropped, not awaited.
                runtime.shutdown_background();
            })?;
        Ok(SandboxHandle {
            sandbox,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT` (without `/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The running sandbox's state (log, faults, data).
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

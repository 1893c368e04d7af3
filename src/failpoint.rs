//! Named crash points for fault-injection tests.
//!
//! Every durable step of a command (a pack sealed, a pointer written, an
//! index uploaded, a pack deleted) calls [`hit`] with a stable name. In a
//! normal build that call is empty and compiled away. With the cargo
//! feature `failpoints` (enabled by `scripts/test`, never in a release),
//! two environment variables drive it:
//!
//! * `CAIRN_FAILPOINTS=name[@N][,…]` aborts the process (SIGABRT: no
//!   destructors run, no buffers are flushed, exactly like `kill -9`) at the
//!   N-th time (default the first) that `name` is reached;
//! * `CAIRN_FAILPOINTS_LOG=FILE` appends the name of every point reached,
//!   one per line, so a test can list the points a command passes through
//!   and then crash it at each one in turn;
//! * `CAIRN_FAILPOINTS_RUN=name=SHELL COMMAND` runs the command (with
//!   `sh -c`, waiting for it) the first time `name` is reached, so a test
//!   can make another process act at an exact moment (a concurrent gc
//!   deleting a file between a listing and a read).
//!
//! The names are part of the test contract, not of the user interface.

/// Mark a durable step. Aborts the process here if a test asked for it.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &'static str) {}

/// Mark a durable step. Aborts the process here if a test asked for it.
#[cfg(feature = "failpoints")]
pub fn hit(name: &'static str) {
    enabled::hit(name)
}

#[cfg(feature = "failpoints")]
mod enabled {
    use std::collections::HashMap;
    use std::io::Write;
    use std::sync::{Mutex, OnceLock};

    struct State {
        /// Point name → the hit number at which to abort.
        armed: HashMap<String, u64>,
        seen: HashMap<&'static str, u64>,
        log: Option<std::path::PathBuf>,
    }

    fn state() -> &'static Mutex<State> {
        static STATE: OnceLock<Mutex<State>> = OnceLock::new();
        STATE.get_or_init(|| {
            let mut armed = HashMap::new();
            if let Ok(spec) = std::env::var("CAIRN_FAILPOINTS") {
                for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let (name, n) = match item.split_once('@') {
                        Some((name, n)) => (name, n.parse().unwrap_or(1)),
                        None => (item, 1),
                    };
                    armed.insert(name.to_string(), n);
                }
            }
            Mutex::new(State {
                armed,
                seen: HashMap::new(),
                log: std::env::var_os("CAIRN_FAILPOINTS_LOG").map(Into::into),
            })
        })
    }

    pub fn hit(name: &'static str) {
        let Ok(mut st) = state().lock() else { return };
        let n = {
            let c = st.seen.entry(name).or_insert(0);
            *c += 1;
            *c
        };
        if let Some(path) = &st.log {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "{name}");
            }
        }
        if st.armed.get(name) == Some(&n) {
            std::process::abort();
        }
        if n == 1 {
            if let Some((point, cmd)) = std::env::var("CAIRN_FAILPOINTS_RUN")
                .ok()
                .as_deref()
                .and_then(|v| v.split_once('='))
            {
                if point == name {
                    let _ = std::process::Command::new("sh").args(["-c", cmd]).status();
                }
            }
        }
    }
}

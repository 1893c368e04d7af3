//! Use cases: one function per verb that changes data, under a thin CLI.
//!
//! Each operation takes typed options and a [`crate::progress::Progress`],
//! does the whole job (locks, stores, git, the rules that keep user data
//! safe) and returns a typed, serialisable report. It never prints; the CLI
//! renders the report as text or JSON, and the hooks, tests and other
//! programs call the same functions.

pub mod add;
pub mod checkout;
pub mod fetch;
pub mod gc;
pub mod pull;
pub mod push;
pub mod status;

/// Requests a command made to a remote, split by whether they changed it.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Requests {
    pub reads: u64,
    pub writes: u64,
}

/// Where a connection tells that a request keeps it waiting (the CLI shows
/// these as warnings; `None` keeps quiet).
pub type Waits = Option<Box<dyn crate::progress::Progress + Send + Sync>>;

//! Use cases: one function per verb, under a thin CLI.
//!
//! Each operation takes typed options and a [`crate::progress::Progress`],
//! does the whole job (locks, stores, git, the rules that keep user data
//! safe) and returns a typed, serialisable report. It never prints; the CLI
//! renders the report as text or JSON, and the hooks, tests and other
//! programs call the same functions. Which revision and paths a command's
//! words name is decided in one place, [`select`], for every verb.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use cairn::ops::{checkout, pull, push, status, Session};
//! use cairn::progress::Silent;
//!
//! // One session per command: git, the cache and the locks are opened
//! // once and shared by its steps.
//! let s = Session::open(Path::new("."))?;
//! // What differs from the pointers (what `cairn status --json` prints).
//! let st = status::status(&s, &[], &Silent)?;
//! for p in &st.paths {
//!     println!("{}: {:?}", p.path, p.state);
//! }
//! // The data of tag v1, fetched and restored; an edit that was never
//! // added stops it with `Error::UnrecordedChanges` before anything is
//! // written.
//! let opts = pull::PullOptions {
//!     rev: Some("v1".into()),
//!     ..Default::default()
//! };
//! let report = pull::pull(&s, opts, &Silent, None)?;
//! assert!(report.missing.is_empty(), "not on the remote: {:?}", report.missing);
//! // Back to the work tree's pointers, from the cache alone.
//! checkout::checkout(&s, checkout::CheckoutOptions::new(None, Vec::new()), &Silent)?;
//! // Send the work tree's, HEAD's and every tag's data to the default remote.
//! let sent = push::push(&s, push::PushOptions::default(), &Silent, None)?;
//! println!("{} object(s) in {} pack(s)", sent.objects, sent.packs);
//! # Ok::<(), cairn::Error>(())
//! ```

pub mod add;
pub mod cat;
pub mod checkout;
pub mod config;
pub mod diff;
pub mod doctor;
pub mod du;
pub mod fetch;
pub mod gc;
pub mod get;
pub mod hooks;
pub mod import;
pub mod init;
pub mod listings;
pub mod log;
pub mod ls;
pub mod mv;
pub mod open;
pub mod pull;
pub mod pull_direct;
pub mod push;
pub mod remote;
pub mod rm;
pub mod select;
mod session;
pub mod status;
pub mod verify;

pub use session::Session;

/// Requests a command made to a remote, split by whether they changed it.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Requests {
    pub reads: u64,
    pub writes: u64,
}

/// Where a connection tells that a request keeps it waiting (the CLI shows
/// these as warnings; `None` keeps quiet).
pub type Waits = Option<Box<dyn crate::progress::Progress + Send + Sync>>;

//! Fetching a large file's remote chunks several rounds ahead of its writer.
//!
//! A file restored from a remote chunk source (`pull`, `pull --no-cache`)
//! is read in rounds of ranged reads, one per batch the writer writes. With
//! one round at a time the network sat idle for a full request latency
//! while each batch was decoded and written, and the tail of every round
//! (its slowest read) idled the other connections too: a 2 GiB pull from
//! S3 was slower than fetching whole packs. Here up to [`DEPTH`]
//! rounds are fetched at once, strictly in order of need: round `i` is
//! started only when the writer takes round `i - DEPTH` (or earlier), so
//! at most `DEPTH` rounds are held (fetched, checked and decoded, waiting)
//! whatever the file's size, and memory stays bounded.
//!
//! Rounds run as jobs of a pool of their own, never of rayon's global
//! pool, and a round never waits for anything but the network and its own
//! decoding. The writer waits for rounds while holding a thread of the
//! global pool (and work that pool's other threads may be waiting on), so
//! a round that needed the global pool could wait on its own writer: with
//! rounds on threads of their own that decoded on the global pool, a pull
//! of one 2 GiB file hung for good.
//!
//! What it guarantees: the writer gets each round's result exactly as the
//! inline fetch would have returned it, in order; a round that fails is
//! handed over as that error when the writer reaches it (rounds before it
//! are unaffected), and no round after a failed one is started; when the
//! writer stops early (an error of its own), rounds not started are never
//! started, and every round has ended before [`with`] returns. Every chunk
//! is still checked by the source before it is handed over; this only
//! changes when it is read.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

use crate::error::Result;

/// Rounds fetched at once, and the most held before the writer takes them.
/// A round is a remote batch (16 MiB decoded, two reads). Measured on the
/// 2 GiB file from Garage (2026-12-02, branch s3-ahead): two rounds took a
/// pull from 124 to 158–173 MB peak and to 0.7–0.9× the time of one round
/// at a time; three rounds reached 203–214 MB, over the 200 MB budget,
/// and rounds of 8 MiB four deep were no faster, with more requests.
/// Rounds now decode in place into a buffer the writer hands back once
/// written (`write.rs`); with a fresh buffer per round one run reached
/// 223 MB, with the buffers reused 166–189 MB (moto and Garage, stop 14's
/// `bench/remote.sh`, bench/RESULTS.md).
pub const DEPTH: usize = 2;

/// The pool rounds run on: one thread per round in flight (they mostly
/// wait on the network), shared by every file being restored; `None` if
/// it could not be built (rounds are then fetched inline).
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(DEPTH)
            .thread_name(|i| format!("cairn-ahead-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// A round's outcome: its result, or the panic it ended in.
type Outcome<T> = std::thread::Result<Result<T>>;

/// Rounds started and finished ones waiting for the writer.
struct State<T> {
    /// The next round to start.
    next: usize,
    /// Finished rounds not yet taken, by index.
    done: BTreeMap<usize, Outcome<T>>,
    /// Start no more rounds: a round failed.
    stop: bool,
}

/// What rounds and writer share.
struct Shared<'f, T> {
    rounds: usize,
    fetch: &'f (dyn Fn(usize) -> Result<T> + Sync),
    state: Mutex<State<T>>,
    changed: Condvar,
}

impl<T> Shared<'_, T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fetch round `i` and hand it over.
    fn run(&self, i: usize) {
        let r = catch_unwind(AssertUnwindSafe(|| (self.fetch)(i)));
        let mut st = self.lock();
        st.stop |= !matches!(r, Ok(Ok(_)));
        st.done.insert(i, r);
        self.changed.notify_all();
    }
}

/// Results of rounds `0..rounds`, fetched ahead (see the module comment).
pub struct Ahead<'a, T> {
    shared: &'a Shared<'a, T>,
    /// Starts a round on the rounds' pool; `None`: each round is fetched
    /// when taken.
    start: Option<&'a (dyn Fn(usize) + Sync + 'a)>,
    depth: usize,
}

impl<T> Ahead<'_, T> {
    /// The result of round `i`, waiting for it if it is still being
    /// fetched; rounds must be taken in order, each once.
    pub fn take(&self, i: usize) -> Result<T> {
        let Some(start) = self.start else {
            return (self.shared.fetch)(i);
        };
        let mut st = self.shared.lock();
        // Keep `depth` rounds under way from this one on.
        while !st.stop && st.next < self.shared.rounds && st.next < i + self.depth {
            start(st.next);
            st.next += 1;
        }
        loop {
            if let Some(r) = st.done.remove(&i) {
                return r.unwrap_or_else(|p| resume_unwind(p));
            }
            if st.next <= i {
                // Not started (a round before it failed): fetch it here.
                drop(st);
                return (self.shared.fetch)(i);
            }
            st = self
                .shared
                .changed
                .wait(st)
                .unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Run `write` with rounds `0..rounds` of `fetch` fetched up to `depth`
/// ahead on the rounds' pool (`depth` 0, or a single round: each is
/// fetched inline when taken). Returns what `write` returns, once every
/// round it started has ended.
pub fn with<T: Send, R>(
    rounds: usize,
    depth: usize,
    fetch: &(dyn Fn(usize) -> Result<T> + Sync),
    write: impl FnOnce(&Ahead<'_, T>) -> R,
) -> R {
    let shared = Shared {
        rounds,
        fetch,
        state: Mutex::new(State {
            next: 0,
            done: BTreeMap::new(),
            stop: false,
        }),
        changed: Condvar::new(),
    };
    let pool = match rounds > 1 && depth > 0 {
        true => pool(),
        false => None,
    };
    let Some(pool) = pool else {
        return write(&Ahead {
            shared: &shared,
            start: None,
            depth: 0,
        });
    };
    let shared = &shared;
    pool.in_place_scope(|scope| {
        let start = |k: usize| scope.spawn(move |_| shared.run(k));
        write(&Ahead {
            shared,
            start: Some(&start),
            depth,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Rounds that take a while, counting how many run at once and how far
    /// ahead of the writer any started.
    struct Counted {
        running: AtomicUsize,
        most: AtomicUsize,
        started: AtomicUsize,
    }

    impl Counted {
        fn new() -> Counted {
            Counted {
                running: AtomicUsize::new(0),
                most: AtomicUsize::new(0),
                started: AtomicUsize::new(0),
            }
        }

        fn round(&self, i: usize, fail: Option<usize>) -> Result<usize> {
            self.started.fetch_add(1, Ordering::SeqCst);
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            self.running.fetch_sub(1, Ordering::SeqCst);
            match fail {
                Some(f) if f == i => Err(Error::io(
                    "read",
                    std::path::Path::new("round"),
                    std::io::Error::other("failed"),
                )),
                _ => Ok(i * 10),
            }
        }
    }

    #[test]
    fn rounds_run_several_at_once_and_arrive_in_order() {
        let c = Counted::new();
        let fetch = |i| c.round(i, None);
        let got: Vec<usize> = with(12, 4, &fetch, |a| {
            (0..12).map(|i| a.take(i).unwrap()).collect()
        });
        assert_eq!(got, (0..12).map(|i| i * 10).collect::<Vec<_>>());
        let most = c.most.load(Ordering::SeqCst);
        assert!(most > 1 && most <= 4, "{most} rounds at once");
        assert_eq!(c.started.load(Ordering::SeqCst), 12);
    }

    #[test]
    fn no_round_starts_more_than_depth_ahead_of_the_writer() {
        let c = Counted::new();
        let fetch = |i| c.round(i, None);
        with(20, 3, &fetch, |a| {
            for i in 0..5 {
                a.take(i).unwrap();
                std::thread::sleep(Duration::from_millis(60));
                // Taken: i + 1; at most 3 more may have started.
                assert!(c.started.load(Ordering::SeqCst) <= i + 1 + 3);
            }
        });
        // The writer stopped at 5: nothing near the end was fetched.
        assert!(c.started.load(Ordering::SeqCst) <= 5 + 3);
    }

    #[test]
    fn a_failed_round_is_its_error_and_nothing_after_it_starts() {
        let c = Counted::new();
        let fetch = |i| c.round(i, Some(2));
        with(30, 4, &fetch, |a| {
            assert_eq!(a.take(0).unwrap(), 0);
            assert_eq!(a.take(1).unwrap(), 10);
            assert!(a.take(2).is_err());
        });
        // Rounds already under way when 2 failed may finish; no new ones.
        assert!(c.started.load(Ordering::SeqCst) <= 2 + 4);
    }

    #[test]
    fn one_round_or_no_depth_fetches_inline() {
        let c = Counted::new();
        let fetch = |i| c.round(i, None);
        let main = std::thread::current().id();
        let on_main = |i| {
            assert_eq!(std::thread::current().id(), main);
            c.round(i, None)
        };
        assert_eq!(with(1, 4, &on_main, |a| a.take(0).unwrap()), 0);
        with(3, 0, &on_main, |a| {
            (0..3).for_each(|i| _ = a.take(i).unwrap())
        });
        let both = with(2, 4, &fetch, |a| (a.take(0).unwrap(), a.take(1).unwrap()));
        assert_eq!(both, (0, 10));
    }

    /// Two files at once, each writer holding a thread of rayon's global
    /// pool while it waits for rounds that decode in parallel (as `pull`
    /// restores them): rounds run on their own pool, so their decoding
    /// never waits on a writer (rounds of their own threads decoding on the
    /// global pool once hung a pull for good).
    #[test]
    fn waiting_writers_never_starve_the_rounds() {
        use rayon::prelude::*;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let fetch = |i: usize| -> Result<usize> {
                let name = std::thread::current().name().map(str::to_string);
                assert!(name.unwrap_or_default().starts_with("cairn-ahead"));
                std::thread::sleep(Duration::from_millis(5));
                Ok((0..10_000usize).into_par_iter().map(|x| x % 7 + i).sum())
            };
            let file = || {
                with(16, 4, &fetch, |a| {
                    (0..16).map(|i| a.take(i).unwrap()).sum::<usize>()
                })
            };
            let files: Vec<usize> = (0..8).into_par_iter().map(|_| file()).collect();
            tx.send(files).unwrap();
        });
        let files = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the restore waited forever");
        assert!(files.iter().all(|&f| f == files[0]));
    }
}

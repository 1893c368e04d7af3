//! The block buffers of one large file being added.
//!
//! A large file is read into a few buffers of one block each; the chunks
//! of a block are stored by pool tasks that share it, and the buffer is
//! reused once the last of them (and the whole-file hash) is done with it.
//! So memory stays at [`BUFFERS`] blocks whatever the file's size, and the
//! reader waits only when it is that far ahead of the pool.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

/// Buffers a large file uses at most: one being read and cut, and up to
/// two whose chunks are still queued or being stored.
pub(super) const BUFFERS: usize = 3;

/// The reusable block buffers of one large file. A [`Block`] sends its
/// buffer back when the last task holding it drops it; [`Blocks::take`]
/// waits for one when all [`BUFFERS`] are in use, running queued pool work
/// meanwhile if called on a pool thread, so waiting never starves the tasks
/// that would free a buffer (even in a pool of one thread).
pub(super) struct Blocks {
    cap: usize,
    made: usize,
    back: Sender<Vec<u8>>,
    free: Receiver<Vec<u8>>,
}

/// One block of a large file, shared by the tasks storing its chunks.
pub(super) struct Block {
    pub(super) buf: Vec<u8>,
    back: Sender<Vec<u8>>,
}

impl Drop for Block {
    fn drop(&mut self) {
        // The receiver lives as long as the file's ingest; if it is gone,
        // so is any use for the buffer.
        let _ = self.back.send(std::mem::take(&mut self.buf));
    }
}

impl Blocks {
    /// Buffers of `cap` bytes each, made as they are first needed.
    pub(super) fn new(cap: usize) -> Blocks {
        let (back, free) = channel();
        Blocks {
            cap,
            made: 0,
            back,
            free,
        }
    }

    /// Share `buf` as a block that returns it here when dropped.
    pub(super) fn block(&self, buf: Vec<u8>) -> Block {
        Block {
            buf,
            back: self.back.clone(),
        }
    }

    /// A free buffer of `cap` bytes.
    pub(super) fn take(&mut self) -> Vec<u8> {
        loop {
            if let Ok(b) = self.free.try_recv() {
                return b;
            }
            if self.made < BUFFERS {
                self.made += 1;
                return vec![0u8; self.cap];
            }
            match rayon::yield_now() {
                Some(rayon::Yield::Executed) => {}
                Some(rayon::Yield::Idle) => {
                    // Another pool thread runs the last tasks of a block.
                    if let Ok(b) = self.free.recv_timeout(Duration::from_millis(1)) {
                        return b;
                    }
                }
                // Not a pool thread: the pool frees a buffer on its own.
                // `self.back` keeps the channel open, so this waits for a
                // buffer rather than failing for lack of senders.
                None => {
                    if let Ok(b) = self.free.recv() {
                        return b;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer comes back when the last holder of its block drops it, and
    /// no more than `BUFFERS` are ever made.
    #[test]
    fn buffers_are_reused_once_every_holder_is_done() {
        let mut blocks = Blocks::new(16);
        let held: Vec<_> = (0..BUFFERS)
            .map(|i| {
                let mut b = blocks.take();
                b[0] = i as u8;
                std::sync::Arc::new(blocks.block(b))
            })
            .collect();
        let other = std::sync::Arc::clone(&held[1]);
        drop(held);
        // Blocks 0 and 2 are free; block 1 is still held.
        let mut seen: Vec<u8> = (0..2).map(|_| blocks.take()[0]).collect();
        seen.sort();
        assert_eq!(seen, [0, 2]);
        drop(other);
        assert_eq!(blocks.take()[0], 1);
        assert_eq!(blocks.made, BUFFERS);
    }

    /// On a pool of one thread, waiting for a buffer runs the queued tasks
    /// that free one instead of waiting for itself forever.
    #[test]
    fn waiting_on_a_one_thread_pool_runs_the_tasks_that_free_buffers() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let total = pool.install(|| {
            let mut blocks = Blocks::new(8);
            let sum = std::sync::atomic::AtomicUsize::new(0);
            rayon::in_place_scope(|s| {
                for i in 0..4 * BUFFERS {
                    let mut b = blocks.take();
                    b[0] = i as u8;
                    let block = std::sync::Arc::new(blocks.block(b));
                    let sum = &sum;
                    s.spawn(move |_| {
                        sum.fetch_add(block.buf[0] as usize, std::sync::atomic::Ordering::Relaxed);
                    });
                }
            });
            sum.into_inner()
        });
        assert_eq!(total, (0..4 * BUFFERS).sum::<usize>());
    }
}

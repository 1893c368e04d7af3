//! How many requests a transfer keeps in flight: the one knob (`-j`,
//! `transfer.jobs`) that trades memory and connections for speed, with
//! the bound that keeps memory in check.

/// How many requests a transfer keeps in flight at once.
///
/// Each upload or download in flight holds at most one part ([`PART`](crate::remote::PART),
/// 16 MiB) in memory, so a transfer's buffers stay below `jobs × 16 MiB`;
/// [`MAX_JOBS`] bounds that at 1 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jobs {
    /// Uploads (and deletions) in flight at once.
    pub uploads: usize,
    /// Ranged downloads in flight at once.
    pub downloads: usize,
}

/// The most requests `-j` or `transfer.jobs` may ask for.
pub use crate::repo::config::MAX_JOBS;

impl Default for Jobs {
    /// 4 uploads and 8 downloads: downloads are ranged reads of parts of
    /// packs, smaller and more latency-bound than uploads of whole packs.
    fn default() -> Jobs {
        Jobs {
            uploads: 4,
            downloads: 8,
        }
    }
}

impl Jobs {
    /// `n` uploads and `n` downloads (`-j N`, `transfer.jobs = N`); `n` is
    /// clamped to 1..=[`MAX_JOBS`].
    pub fn all(n: usize) -> Jobs {
        let n = n.clamp(1, MAX_JOBS);
        Jobs {
            uploads: n,
            downloads: n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_number_sets_both_directions_within_bounds() {
        assert_eq!(
            Jobs::default(),
            Jobs {
                uploads: 4,
                downloads: 8
            }
        );
        assert_eq!(
            Jobs::all(3),
            Jobs {
                uploads: 3,
                downloads: 3
            }
        );
        assert_eq!(Jobs::all(0), Jobs::all(1));
        assert_eq!(Jobs::all(1000), Jobs::all(MAX_JOBS));
        // The memory bound the docs promise: jobs × one part.
        assert_eq!(MAX_JOBS * crate::remote::PART, 1 << 30);
    }
}

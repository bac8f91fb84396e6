//! Block planning: how big each staged block is, and what it is called.
//!
//! Azure block blobs are made of at most 50,000 committed blocks of at most 4,000 MiB each
//! (<https://learn.microsoft.com/rest/api/storageservices/put-block>, API version 2019-12-12 and
//! later). Memory use of an export is about block size × (concurrency + 1), so blocks stay as
//! small as the blob's size allows: 8 MiB, or more when the blob would otherwise need more than
//! 50,000 of them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Smallest block we stage: big enough that per-request overhead is negligible against the
/// emulator's and Azure's throughput, small enough to keep memory low.
pub const MIN_BLOCK_SIZE: u64 = 8 * MIB;

/// Largest block Azure accepts (Put Block, versions 2019-12-12 and later).
pub const MAX_BLOCK_SIZE: u64 = 4000 * MIB;

/// Most committed blocks a block blob may have.
pub const MAX_BLOCKS: u64 = 50_000;

/// Largest block blob: 50,000 blocks of 4,000 MiB (about 190.7 TiB).
pub const MAX_BLOB_SIZE: u64 = MAX_BLOCKS * MAX_BLOCK_SIZE;

/// Length of our block IDs before base64: Azure requires every block ID of a blob to have the
/// same length, so it is fixed.
pub const BLOCK_ID_LEN: usize = 24;

const MIB: u64 = 1 << 20;

/// Why no block size works.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The output is larger than any block blob can be.
    #[error(
        "the output (about {} bytes) is larger than the largest block blob Azure allows ({} bytes: \
         50,000 blocks of 4,000 MiB)",
        estimated,
        MAX_BLOB_SIZE
    )]
    TooLarge {
        /// The estimated output size.
        estimated: u64,
    },
    /// The requested block size is outside Azure's limits.
    #[error("--block-size must be between 1 MiB and 4000 MiB; {requested} bytes was given")]
    BadRequestedSize {
        /// The size given.
        requested: u64,
    },
    /// The requested block size would need too many blocks.
    #[error(
        "--block-size {requested} would need more than 50,000 blocks for about {estimated} bytes; \
         use at least {needed} bytes"
    )]
    RequestedTooSmall {
        /// The size given.
        requested: u64,
        /// The estimated output size.
        estimated: u64,
        /// The smallest size that fits.
        needed: u64,
    },
}

/// The block size for an output of about `estimated` bytes: [`MIN_BLOCK_SIZE`], or the smallest
/// whole number of MiB that keeps the blob within [`MAX_BLOCKS`]. A `requested` size is used
/// as given if Azure's limits allow it for this output.
pub fn block_size(estimated: u64, requested: Option<u64>) -> Result<u64, PlanError> {
    if estimated > MAX_BLOB_SIZE {
        return Err(PlanError::TooLarge { estimated });
    }
    let needed = estimated.div_ceil(MAX_BLOCKS).div_ceil(MIB) * MIB;
    match requested {
        Some(r) if !(MIB..=MAX_BLOCK_SIZE).contains(&r) => {
            Err(PlanError::BadRequestedSize { requested: r })
        }
        Some(r) if r < needed => Err(PlanError::RequestedTooSmall {
            requested: r,
            estimated,
            needed,
        }),
        Some(r) => Ok(r),
        None => Ok(needed.max(MIN_BLOCK_SIZE)),
    }
}

/// The base64 block ID of block `index` of a run whose random nonce is `nonce`: `wb`, 14 hex
/// digits of the nonce, 8 decimal digits of the index; always [`BLOCK_ID_LEN`] bytes before
/// base64, and distinct across runs that append to the same blob.
pub fn block_id(nonce: u64, index: u32) -> String {
    let raw = format!("wb{:014x}{:08}", nonce & 0x00ff_ffff_ffff_ffff, index);
    debug_assert_eq!(raw.len(), BLOCK_ID_LEN);
    BASE64.encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;
    const TIB: u64 = 1 << 40;

    /// (estimated output, requested, expected block size or error fragment, why)
    type Case = (u64, Option<u64>, Result<u64, &'static str>, &'static str);

    #[test]
    fn planner_table() {
        let cases: &[Case] = &[
            (
                0,
                None,
                Ok(8 * MIB),
                "an empty output still has a block size",
            ),
            (1, None, Ok(8 * MIB), "one byte"),
            (8 * MIB, None, Ok(8 * MIB), "exactly one block"),
            (GIB, None, Ok(8 * MIB), "1 GiB is 128 blocks"),
            (
                50_000 * 8 * MIB,
                None,
                Ok(8 * MIB),
                "the most 8 MiB blocks can hold",
            ),
            (
                50_000 * 8 * MIB + 1,
                None,
                Ok(9 * MIB),
                "one byte more needs bigger blocks",
            ),
            (
                TIB,
                None,
                Ok(21 * MIB),
                "1 TiB: 20.97 MiB rounded up to whole MiB",
            ),
            (100 * TIB, None, Ok(2098 * MIB), "100 TiB"),
            (
                MAX_BLOB_SIZE,
                None,
                Ok(MAX_BLOCK_SIZE),
                "the Azure limit exactly",
            ),
            (
                MAX_BLOB_SIZE + 1,
                None,
                Err("larger than the largest block blob"),
                "past the limit",
            ),
            (
                GIB,
                Some(16 * MIB),
                Ok(16 * MIB),
                "a requested size that fits",
            ),
            (GIB, Some(MIB), Ok(MIB), "small blocks for tests"),
            (
                GIB,
                Some(MIB - 1),
                Err("between 1 MiB and 4000 MiB"),
                "below Azure's useful minimum",
            ),
            (
                GIB,
                Some(MAX_BLOCK_SIZE + 1),
                Err("between 1 MiB and 4000 MiB"),
                "above the limit",
            ),
            (
                TIB,
                Some(8 * MIB),
                Err("use at least 22020096"),
                "too many blocks",
            ),
        ];
        for (estimated, requested, want, why) in cases {
            let got = block_size(*estimated, *requested);
            match (want, &got) {
                (Ok(size), Ok(g)) => assert_eq!(g, size, "{why}"),
                (Err(frag), Err(e)) => assert!(e.to_string().contains(frag), "{why}: {e}"),
                _ => panic!("{why}: want {want:?}, got {got:?}"),
            }
            if let Ok(size) = got {
                assert!(
                    estimated.div_ceil(size) <= MAX_BLOCKS,
                    "{why}: too many blocks"
                );
            }
        }
    }

    #[test]
    fn block_ids_are_fixed_width_and_distinct() {
        let ids: Vec<String> = [0, 1, 9, 10, 49_999]
            .iter()
            .map(|&i| block_id(u64::MAX, i))
            .collect();
        assert!(ids.iter().all(|id| id.len() == 32), "{ids:?}");
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        assert_ne!(block_id(1, 0), block_id(2, 0));
    }
}

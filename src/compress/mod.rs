//! Compresses encoded bytes chunk by chunk, so that chunks can be compressed on several threads
//! at once and still concatenate into one valid stream.
//!
//! Each call to [`compress_chunk`] produces a complete gzip member (RFC 1952 §2.2: a gzip file
//! is a series of members, and `gzip -d`, zlib's `gunzip`, Python's `gzip` and flate2's
//! `MultiGzDecoder` read them all) or a complete zstd frame (RFC 8878 §3.1: zstd decoders read
//! consecutive frames as one stream). The cost of independence is a few bytes of framing per
//! chunk and a compressor that starts each chunk without history: under 0.1% of output size for
//! chunks of a few MiB ([`CHUNK_SIZE`]).
//!
//! ```
//! use writeback::compress::{Compression, compress_chunk};
//!
//! let mut out = Vec::new();
//! for chunk in [&b"hello "[..], &b"world\n"[..]] {
//!     compress_chunk(Compression::Gzip, None, chunk, &mut out).unwrap();
//! }
//! let mut text = String::new();
//! std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&out[..]), &mut text)
//!     .unwrap();
//! assert_eq!(text, "hello world\n");
//! ```

use std::fmt;
use std::io::Cursor;
use std::ops::RangeInclusive;
use std::str::FromStr;

use flate2::{Compress, FlushCompress, Status};
use serde::{Deserialize, Serialize};

use crate::encode::Format;

/// The input size the engine should hand to [`compress_chunk`]: large enough that per-chunk
/// framing and the cold start of each chunk's compressor cost under 0.1% of ratio, small enough
/// that two chunks in flight per core stay well inside the memory budget.
pub const CHUNK_SIZE: usize = 4 * 1024 * 1024;

/// The gzip level used when none is given. Measured per core on the benchmark's CSV
/// (`cargo bench --bench encode -- compress`): level 1 compresses 139 MB/s at ratio 1.8, level 2
/// 74-81 MB/s at 2.6, level 6 42-46 MB/s at 2.8. Exports are CPU-bound on this 2-core machine
/// (the emulator needs 1.3 cores at full ingest), and with that cost counted level 1 moves about
/// 20% more rows per second than level 2; it stays ahead against real Azure until the uplink
/// is slower than about 75 MB/s. Users who pay for storage or bandwidth can ask for more.
pub const DEFAULT_GZIP_LEVEL: i32 = 1;

/// The zstd level used when none is given. Measured like gzip: level 1 compresses 250-275 MB/s
/// per core at ratio 2.76, level 3 (zstd's own default) 142-147 MB/s at 2.73: as small, at
/// nearly twice the speed. Level 1 is still faster than gzip level 1 and as small as gzip 6.
pub const DEFAULT_ZSTD_LEVEL: i32 = 1;

/// The levels gzip accepts: 0 stores without compressing, 9 compresses hardest.
const GZIP_LEVELS: RangeInclusive<i32> = 0..=9;

/// How the encoded bytes are compressed before upload. Serialized as its name (`"none"`,
/// `"gzip"`, `"zstd"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Uploaded as encoded.
    #[default]
    None,
    /// gzip (RFC 1952), as a series of members.
    Gzip,
    /// Zstandard (RFC 8878), as a series of frames, each with a content checksum.
    Zstd,
}

impl Compression {
    /// Every choice, in the order the CLI lists them.
    pub const ALL: [Compression; 3] = [Compression::None, Compression::Gzip, Compression::Zstd];

    /// The suffix added after the format's extension, with its dot: `""`, `".gz"`, `".zst"`.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }

    /// The blob's `Content-Encoding` (RFC 9110 §8.4; `zstd` is registered by RFC 8878), if any.
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }

    /// The name users type: `none`, `gzip`, `zstd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The levels this compression accepts (`None` for no compression).
    pub fn levels(self) -> Option<RangeInclusive<i32>> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some(GZIP_LEVELS),
            Compression::Zstd => Some(zstd::compression_level_range()),
        }
    }

    /// The level used when none is given (`None` for no compression).
    pub fn default_level(self) -> Option<i32> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some(DEFAULT_GZIP_LEVEL),
            Compression::Zstd => Some(DEFAULT_ZSTD_LEVEL),
        }
    }

    /// Checks that this compression can be used for `format`: Parquet compresses its pages
    /// itself, and a gzip or zstd wrapper would only make it unreadable by Parquet readers.
    pub fn check_format(self, format: Format) -> Result<(), CompressError> {
        match (format, self) {
            (Format::Parquet, Compression::Gzip | Compression::Zstd) => {
                Err(CompressError::ParquetCompressed { compression: self })
            }
            _ => Ok(()),
        }
    }

    /// Resolves an optional level to the one to use, checking its range.
    pub fn check_level(self, level: Option<i32>) -> Result<Option<i32>, CompressError> {
        let Some(range) = self.levels() else {
            return match level {
                Some(level) => Err(CompressError::LevelWithoutCompression { level }),
                None => Ok(None),
            };
        };
        let level = level
            .or(self.default_level())
            .expect("compressions have a default");
        if range.contains(&level) {
            Ok(Some(level))
        } else {
            Err(CompressError::Level {
                compression: self,
                level,
                min: *range.start(),
                max: *range.end(),
            })
        }
    }

    /// The most bytes [`compress_chunk`] can append for `len` input bytes, so a caller can size
    /// buffers once. Incompressible data grows by a fraction of a percent.
    pub fn max_output(self, len: usize) -> usize {
        match self {
            Compression::None => len,
            Compression::Zstd => zstd::zstd_safe::compress_bound(len),
            // zlib's deflateBound for stored blocks: 5 bytes per 16 KiB block (counted per 4
            // KiB to stay clear of it), plus the 18-byte gzip header and trailer and slack.
            Compression::Gzip => len + (len >> 12) + (len >> 14) + (len >> 25) + 13 + 18 + 64,
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compression name that is not one of `none`, `gzip`, `zstd`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown compression '{0}': use none, gzip or zstd")]
pub struct UnknownCompression(pub String);

impl FromStr for Compression {
    type Err = UnknownCompression;

    /// Parses a compression name, in any case; `gz` and `zst` are accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Compression::None),
            "gzip" | "gz" => Ok(Compression::Gzip),
            "zstd" | "zst" => Ok(Compression::Zstd),
            _ => Err(UnknownCompression(s.to_string())),
        }
    }
}

/// A compression failure.
#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    /// gzip or zstd was asked for a Parquet file.
    #[error(
        "Parquet files are compressed inside (Snappy) and cannot also be {compression}-compressed: \
         use --compression none with --format parquet, or choose csv or jsonl"
    )]
    ParquetCompressed {
        /// The compression that was asked for.
        compression: Compression,
    },
    /// A level outside the compression's range.
    #[error("{compression} compression level {level} is out of range: use {min} to {max}")]
    Level {
        /// The compression.
        compression: Compression,
        /// The level given.
        level: i32,
        /// The lowest level accepted.
        min: i32,
        /// The highest level accepted.
        max: i32,
    },
    /// A level was given without a compression.
    #[error("a compression level ({level}) needs --compression gzip or zstd")]
    LevelWithoutCompression {
        /// The level given.
        level: i32,
    },
    /// The gzip compressor failed (it does not on valid input; kept for completeness).
    #[error("gzip compression failed: {0}")]
    Gzip(#[from] flate2::CompressError),
    /// The zstd compressor failed (out of memory, or an invalid parameter).
    #[error("zstd compression failed: {0}")]
    Zstd(#[source] std::io::Error),
}

impl CompressError {
    /// Always false: compressing the same bytes again fails the same way.
    pub fn is_retriable(&self) -> bool {
        false
    }
}

/// Compresses `input` as one self-contained gzip member or zstd frame and appends it to `out`
/// (for [`Compression::None`], appends `input` unchanged). `level` defaults to the
/// compression's default level and is checked against its range.
///
/// Pure: no shared state, callable from any number of threads at once. Appending the outputs
/// of consecutive chunks gives one valid `.gz` or `.zst` stream of their concatenation.
pub fn compress_chunk(
    c: Compression,
    level: Option<i32>,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    let level = c.check_level(level)?;
    out.reserve(c.max_output(input.len()));
    match (c, level) {
        (Compression::None, _) => out.extend_from_slice(input),
        (Compression::Gzip, Some(level)) => gzip(level, input, out)?,
        (Compression::Zstd, Some(level)) => zstd_frame(level, input, out)?,
        (_, None) => unreachable!("check_level gives every compression a level"),
    }
    Ok(())
}

fn gzip(level: i32, input: &[u8], out: &mut Vec<u8>) -> Result<(), CompressError> {
    let level = flate2::Compression::new(level as u32);
    // 15 window bits: the full 32 KiB window, as gzip(1) uses.
    let mut z = Compress::new_gzip(level, 15);
    loop {
        let consumed = z.total_in() as usize;
        match z.compress_vec(&input[consumed..], out, FlushCompress::Finish)? {
            Status::StreamEnd => return Ok(()),
            // Only when the bound above was too small: give it more room and go on.
            Status::Ok | Status::BufError => out.reserve(out.capacity().max(64 * 1024)),
        }
    }
}

fn zstd_frame(level: i32, input: &[u8], out: &mut Vec<u8>) -> Result<(), CompressError> {
    use zstd::zstd_safe::CParameter;

    let mut z = zstd::bulk::Compressor::new(level).map_err(CompressError::Zstd)?;
    // A checksum of the content in each frame, as the zstd command writes by default: the
    // blob's MD5 covers the compressed bytes, this covers decompression.
    z.set_parameter(CParameter::ChecksumFlag(true))
        .map_err(CompressError::Zstd)?;
    // Write straight into `out`'s spare capacity, after its current contents.
    let start = out.len() as u64;
    let mut cursor = Cursor::new(&mut *out);
    cursor.set_position(start);
    z.compress_to_buffer(input, &mut cursor)
        .map_err(CompressError::Zstd)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};

    use super::*;

    /// Text that compresses like CSV, plus incompressible bytes.
    fn sample(len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len);
        let mut rng = fastrand::Rng::with_seed(7);
        let mut i = 0u64;
        while v.len() < len {
            if i.is_multiple_of(500) {
                v.extend((0..200).map(|_| rng.u8(..)));
            }
            v.extend_from_slice(
                format!("{i},name {},{}.{:02}\r\n", i % 97, i * 7, i % 100).as_bytes(),
            );
            i += 1;
        }
        v.truncate(len);
        v
    }

    fn decode(c: Compression, bytes: &[u8]) -> Vec<u8> {
        let mut back = Vec::new();
        match c {
            Compression::None => back.extend_from_slice(bytes),
            Compression::Gzip => {
                flate2::read::MultiGzDecoder::new(bytes)
                    .read_to_end(&mut back)
                    .unwrap();
            }
            Compression::Zstd => {
                zstd::stream::Decoder::new(bytes)
                    .unwrap()
                    .read_to_end(&mut back)
                    .unwrap();
            }
        }
        back
    }

    fn compress_in_chunks(
        c: Compression,
        level: Option<i32>,
        input: &[u8],
        chunk: usize,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        for part in input.chunks(chunk.max(1)) {
            compress_chunk(c, level, part, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn concatenated_chunks_decode_to_the_input() {
        let input = sample(3 * 1024 * 1024 / 2 + 17);
        for c in Compression::ALL {
            for chunk in [1000, 256 * 1024, 1024 * 1024, input.len()] {
                let out = compress_in_chunks(c, None, &input, chunk);
                assert!(decode(c, &out) == input, "{c} in chunks of {chunk}");
                if c != Compression::None && chunk >= 256 * 1024 {
                    assert!(
                        out.len() < input.len() / 2,
                        "{c} compresses ({} bytes)",
                        out.len()
                    );
                }
            }
        }
    }

    #[test]
    fn chunks_compressed_on_threads_concatenate() {
        let input = sample(2 * 1024 * 1024);
        for c in [Compression::Gzip, Compression::Zstd] {
            let parts: Vec<Vec<u8>> = std::thread::scope(|s| {
                let handles: Vec<_> = input
                    .chunks(300 * 1024)
                    .map(|part| {
                        s.spawn(move || {
                            let mut out = Vec::new();
                            compress_chunk(c, None, part, &mut out).unwrap();
                            out
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert!(decode(c, &parts.concat()) == input, "{c}");
        }
    }

    #[test]
    fn appends_after_existing_bytes() {
        for c in Compression::ALL {
            let mut out = b"prefix".to_vec();
            compress_chunk(c, None, b"abc", &mut out).unwrap();
            assert_eq!(&out[..6], b"prefix", "{c}");
            assert_eq!(decode(c, &out[6..]), b"abc", "{c}");
        }
    }

    #[test]
    fn empty_and_incompressible_input() {
        let mut rng = fastrand::Rng::with_seed(1);
        let noise: Vec<u8> = (0..1_000_000).map(|_| rng.u8(..)).collect();
        for c in Compression::ALL {
            let mut out = Vec::new();
            compress_chunk(c, None, b"", &mut out).unwrap();
            assert_eq!(decode(c, &out), b"", "{c} empty");
            for level in c
                .levels()
                .map(|r| vec![*r.start().max(&-5), *r.end()])
                .unwrap_or(vec![])
            {
                let mut out = Vec::new();
                compress_chunk(c, Some(level), &noise, &mut out).unwrap();
                assert!(out.len() <= c.max_output(noise.len()), "{c} {level} bound");
                assert!(decode(c, &out) == noise, "{c} {level}");
            }
        }
    }

    #[test]
    fn every_gzip_level_and_common_zstd_levels_round_trip() {
        let input = sample(200_000);
        for level in 0..=9 {
            let out = compress_in_chunks(Compression::Gzip, Some(level), &input, 64 * 1024);
            assert!(decode(Compression::Gzip, &out) == input, "gzip {level}");
        }
        for level in [-7, 1, 3, 9, 19] {
            let out = compress_in_chunks(Compression::Zstd, Some(level), &input, 64 * 1024);
            assert!(decode(Compression::Zstd, &out) == input, "zstd {level}");
        }
    }

    #[test]
    fn levels_are_checked() {
        type Case = (Compression, Option<i32>, Result<Option<i32>, &'static str>);
        let cases: &[Case] = &[
            (Compression::None, None, Ok(None)),
            (
                Compression::None,
                Some(3),
                Err("a compression level (3) needs --compression gzip or zstd"),
            ),
            (Compression::Gzip, None, Ok(Some(DEFAULT_GZIP_LEVEL))),
            (Compression::Gzip, Some(9), Ok(Some(9))),
            (
                Compression::Gzip,
                Some(10),
                Err("gzip compression level 10 is out of range: use 0 to 9"),
            ),
            (
                Compression::Gzip,
                Some(-1),
                Err("gzip compression level -1 is out of range: use 0 to 9"),
            ),
            (Compression::Zstd, None, Ok(Some(DEFAULT_ZSTD_LEVEL))),
            (Compression::Zstd, Some(22), Ok(Some(22))),
            (Compression::Zstd, Some(-5), Ok(Some(-5))),
        ];
        for (c, level, want) in cases {
            let got = c.check_level(*level).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from), "{c} {level:?}");
        }
        let err = compress_chunk(Compression::Zstd, Some(23), b"x", &mut Vec::new()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("zstd compression level 23 is out of range"),
            "{err}"
        );
    }

    #[test]
    fn parquet_refuses_outer_compression() {
        assert!(Compression::None.check_format(Format::Parquet).is_ok());
        for c in [Compression::Gzip, Compression::Zstd] {
            let err = c.check_format(Format::Parquet).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "Parquet files are compressed inside (Snappy) and cannot also be \
                     {c}-compressed: use --compression none with --format parquet, or choose \
                     csv or jsonl"
                )
            );
            assert!(c.check_format(Format::Csv).is_ok());
            assert!(c.check_format(Format::Jsonl).is_ok());
        }
    }

    #[test]
    fn names_extensions_and_encodings() {
        let cases = [
            (Compression::None, "none", "", None),
            (Compression::Gzip, "gzip", ".gz", Some("gzip")),
            (Compression::Zstd, "zstd", ".zst", Some("zstd")),
        ];
        for (c, name, ext, encoding) in cases {
            assert_eq!(c.to_string(), name);
            assert_eq!(name.parse::<Compression>().unwrap(), c);
            assert_eq!(name.to_uppercase().parse::<Compression>().unwrap(), c);
            assert_eq!(c.extension(), ext);
            assert_eq!(c.content_encoding(), encoding);
        }
        assert_eq!(
            "lz4".parse::<Compression>().unwrap_err().to_string(),
            "unknown compression 'lz4': use none, gzip or zstd"
        );
    }

    /// The system's `gzip` and `zstd` read the concatenated output too (skipped, with a note,
    /// where a tool is not installed).
    #[test]
    fn system_tools_decode_concatenated_chunks() {
        let input = sample(1024 * 1024);
        for (c, tool) in [(Compression::Gzip, "gzip"), (Compression::Zstd, "zstd")] {
            let compressed = compress_in_chunks(c, None, &input, 100 * 1024);
            let child = Command::new(tool)
                .args(["-d", "-c"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            let Ok(mut child) = child else {
                eprintln!("note: `{tool}` is not installed; skipped checking {c} with it");
                continue;
            };
            let mut stdin = child.stdin.take().unwrap();
            let writer = std::thread::spawn(move || stdin.write_all(&compressed));
            let output = child.wait_with_output().unwrap();
            writer.join().unwrap().unwrap();
            assert!(
                output.status.success(),
                "{tool}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(output.stdout == input, "{tool} -dc gives back the input");
        }
    }
}

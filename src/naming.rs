//! Naming the output blob: the Details pane's "Select Filename" choice, placeholders, the
//! extension rule, and Azure's blob-name rules.

use chrono::{DateTime, Utc};

/// Longest blob name Azure accepts, in characters.
/// <https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata#blob-names>
pub const MAX_BLOB_NAME_LEN: usize = 1024;

/// Most path segments a blob name may have.
pub const MAX_BLOB_SEGMENTS: usize = 254;

/// Longest name of a saved account or writeback: typed on command lines, so it stays short.
pub const MAX_LOCAL_NAME_LEN: usize = 64;

/// Checks the name of a saved account or writeback (`kind`): 1 to 64 ASCII letters, digits,
/// `-`, `_` or `.`, starting with a letter or digit, so it needs no quoting in a shell or a URL.
pub fn validate_local_name(kind: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_LOCAL_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a valid {kind} name: use 1 to {MAX_LOCAL_NAME_LEN} letters, digits, \
             '-', '_' or '.', starting with a letter or digit"
        ))
    }
}

/// How the blob is named.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum FilenameMode {
    /// `<dataset-guid>.<ext>`.
    DatasetId,
    /// The filename given, with placeholders expanded.
    Custom,
}

/// What placeholders expand to for one run.
#[derive(Debug, Clone)]
pub struct NameContext<'a> {
    /// The input dataset's GUID.
    pub dataset_id: &'a str,
    /// The writeback's name, for saved writebacks.
    pub writeback: Option<&'a str>,
    /// This run's ID.
    pub run_id: &'a str,
    /// When the run started.
    pub now: DateTime<Utc>,
}

/// A blob name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// `custom` without a filename.
    #[error("--filename-mode custom needs --filename")]
    MissingFilename,
    /// An unknown `{placeholder}`.
    #[error(
        "the filename has an unknown placeholder {{{0}}}; the placeholders are {{dataset_id}}, \
         {{writeback}}, {{date}}, {{timestamp}} and {{run_id}}"
    )]
    UnknownPlaceholder(String),
    /// `{writeback}` outside a saved writeback.
    #[error("the {{writeback}} placeholder needs a saved writeback; a one-off export has no name")]
    NoWriteback,
    /// A `{` without its `}`.
    #[error("the filename has a '{{' without a closing '}}'")]
    Unclosed,
    /// The expanded name breaks Azure's rules.
    #[error("'{name}' is not a valid blob name: {rule}")]
    Invalid {
        /// The name after expansion.
        name: String,
        /// Which rule it breaks.
        rule: &'static str,
    },
}

/// The blob name for a run: `<dataset-guid>.<ext>` or the expanded custom filename, with the
/// extension (`csv`, `csv.gz`, `jsonl.zst`, `parquet`) added unless the name already has one.
pub fn blob_name(
    mode: FilenameMode,
    filename: Option<&str>,
    extension: &str,
    ctx: &NameContext<'_>,
) -> Result<String, NameError> {
    let name = match mode {
        FilenameMode::DatasetId => format!("{}.{extension}", ctx.dataset_id),
        FilenameMode::Custom => {
            let expanded = expand(filename.ok_or(NameError::MissingFilename)?, ctx)?;
            // Check before adding the extension: "dir/" must not quietly become "dir/.csv".
            validate_blob_name(&expanded)?;
            with_extension(expanded, extension)
        }
    };
    validate_blob_name(&name)?;
    Ok(name)
}

fn expand(template: &str, ctx: &NameContext<'_>) -> Result<String, NameError> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or(NameError::Unclosed)?;
        match &after[..close] {
            "dataset_id" => out.push_str(ctx.dataset_id),
            "writeback" => out.push_str(ctx.writeback.ok_or(NameError::NoWriteback)?),
            "date" => out.push_str(&ctx.now.format("%Y-%m-%d").to_string()),
            "timestamp" => out.push_str(&ctx.now.format("%Y%m%dT%H%M%SZ").to_string()),
            "run_id" => out.push_str(ctx.run_id),
            other => return Err(NameError::UnknownPlaceholder(other.to_owned())),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Adds the extension unless the last segment has one. A name ending in the format's own
/// extension (`report.csv`) gets only the compression suffix (`report.csv.gz`), so the blob's
/// name never hides that it is compressed.
fn with_extension(name: String, extension: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(&name);
    if last.ends_with(&format!(".{extension}")) {
        return name;
    }
    if let Some((format_ext, compression_ext)) = extension.split_once('.')
        && last.ends_with(&format!(".{format_ext}"))
    {
        return format!("{name}.{compression_ext}");
    }
    let has_extension = last
        .char_indices()
        .any(|(i, c)| c == '.' && i > 0 && i + 1 < last.len());
    if has_extension {
        name
    } else {
        format!("{name}.{extension}")
    }
}

/// Checks a blob name against Azure's rules and the ones that keep virtual folders sane.
pub fn validate_blob_name(name: &str) -> Result<(), NameError> {
    let fail = |rule| {
        Err(NameError::Invalid {
            name: name.to_owned(),
            rule,
        })
    };
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_BLOB_NAME_LEN {
        return fail("it must be 1 to 1024 characters long");
    }
    if name.chars().any(|c| c.is_control()) {
        return fail("it must not contain control characters");
    }
    if name.contains('\\') {
        return fail("it must not contain '\\' (use '/' for folders)");
    }
    if name.ends_with('.') || name.ends_with('/') {
        return fail("it must not end with '.' or '/'");
    }
    let segments: Vec<&str> = name.split('/').collect();
    if segments.len() > MAX_BLOB_SEGMENTS {
        return fail("it must not have more than 254 '/'-separated parts");
    }
    if segments.iter().any(|s| s.is_empty()) {
        return fail("it must not start with '/' or contain '//'");
    }
    if segments.iter().any(|s| s.trim_end_matches('.').is_empty()) {
        return fail("no '/'-separated part may be only dots");
    }
    if segments.iter().any(|s| s.ends_with('.')) {
        return fail("no '/'-separated part may end with '.'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> NameContext<'static> {
        NameContext {
            dataset_id: "845305d8-da3d-4107-a9d6-13ef3f86d4a4",
            writeback: Some("nightly"),
            run_id: "0192f0c0-0000-7000-8000-000000000001",
            now: DateTime::parse_from_rfc3339("2026-11-28T09:05:03Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn names() {
        use FilenameMode::*;
        let longest = format!("{}.csv", "x".repeat(1020));
        type Case<'a> = (
            FilenameMode,
            Option<&'a str>,
            &'a str,
            Result<&'a str, &'a str>,
        );
        let cases: &[Case] = &[
            (
                DatasetId,
                None,
                "csv",
                Ok("845305d8-da3d-4107-a9d6-13ef3f86d4a4.csv"),
            ),
            (
                DatasetId,
                Some("ignored"),
                "csv.gz",
                Ok("845305d8-da3d-4107-a9d6-13ef3f86d4a4.csv.gz"),
            ),
            (Custom, Some("sales"), "csv", Ok("sales.csv")),
            (Custom, Some("sales"), "jsonl.zst", Ok("sales.jsonl.zst")),
            (Custom, Some("sales.csv"), "csv", Ok("sales.csv")),
            (Custom, Some("sales.csv"), "csv.gz", Ok("sales.csv.gz")),
            (Custom, Some("sales.csv.gz"), "csv.gz", Ok("sales.csv.gz")),
            (Custom, Some("sales.txt"), "csv", Ok("sales.txt")),
            (Custom, Some("v1.2/sales"), "csv", Ok("v1.2/sales.csv")),
            (
                Custom,
                Some("exports/{date}/{dataset_id}"),
                "parquet",
                Ok("exports/2026-11-28/845305d8-da3d-4107-a9d6-13ef3f86d4a4.parquet"),
            ),
            (
                Custom,
                Some("{writeback}-{timestamp}"),
                "csv",
                Ok("nightly-20261128T090503Z.csv"),
            ),
            (
                Custom,
                Some("run-{run_id}"),
                "csv",
                Ok("run-0192f0c0-0000-7000-8000-000000000001.csv"),
            ),
            (
                Custom,
                Some("with space #1 + 100% é"),
                "csv",
                Ok("with space #1 + 100% é.csv"),
            ),
            (Custom, None, "csv", Err("needs --filename")),
            (
                Custom,
                Some("{nope}"),
                "csv",
                Err("unknown placeholder {nope}"),
            ),
            (Custom, Some("{date"), "csv", Err("without a closing")),
            (Custom, Some("a//b"), "csv", Err("'//'")),
            (Custom, Some("/abs"), "csv", Err("'//'")),
            (Custom, Some("dir/"), "csv", Err("must not end with")),
            (Custom, Some("a/../b"), "csv", Err("only dots")),
            (Custom, Some("tab\there"), "csv", Err("control characters")),
            (Custom, Some(&"x".repeat(1020)), "csv", Ok(longest.as_str())),
            (Custom, Some(&"x".repeat(1021)), "csv", Err("1 to 1024")),
        ];
        for (mode, filename, ext, want) in cases {
            let got = blob_name(*mode, *filename, ext, &ctx());
            match (want, &got) {
                (Ok(n), Ok(g)) => assert_eq!(g, n, "{filename:?}"),
                (Err(frag), Err(e)) => assert!(e.to_string().contains(frag), "{filename:?}: {e}"),
                _ => panic!("{filename:?}: want {want:?}, got {got:?}"),
            }
        }
        let mut one_off = ctx();
        one_off.writeback = None;
        assert_eq!(
            blob_name(FilenameMode::Custom, Some("{writeback}"), "csv", &one_off),
            Err(NameError::NoWriteback)
        );
    }

    #[test]
    fn trailing_dot_rules() {
        assert!(validate_blob_name("a.").is_err());
        assert!(validate_blob_name("a./b").is_err());
        assert!(validate_blob_name(".hidden/file.csv").is_ok());
    }
}

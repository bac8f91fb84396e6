//! Printing: aligned text tables for people, JSON for scripts, one-sentence errors.

use std::io::Write;

use serde::Serialize;

use crate::error::Error;

/// Prints a value as pretty JSON on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) {
    let text = serde_json::to_string_pretty(value).expect("output types serialize");
    println!("{text}");
}

/// Prints rows under a header, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let line = |out: &mut std::io::StdoutLock<'_>, cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            let pad = widths[i].saturating_sub(cell.chars().count());
            text.extend(std::iter::repeat_n(' ', pad));
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(&mut out, &mut header.iter().copied());
    for row in rows {
        line(&mut out, &mut row.iter().map(String::as_str));
    }
}

/// Prints warnings to stderr (they are not part of a command's output).
pub fn warnings(list: &[String]) {
    for w in list {
        eprintln!("warning: {w}");
    }
}

/// Prints a failure to stderr: a sentence, or a JSON object with `--json`.
pub fn error(e: &Error, json: bool) {
    if json {
        let body = serde_json::json!({
            "error": { "message": e.to_string(), "exit_code": e.exit_code() as u8 }
        });
        eprintln!("{body}");
    } else {
        eprintln!("error: {e}");
    }
}

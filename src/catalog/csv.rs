//! A streaming RFC 4180 tokenizer that remembers whether each field was quoted.
//!
//! The `csv` crate reads an empty unquoted field and a quoted empty field (`""`) as the same
//! thing; the catalog needs to tell them apart (a missing value versus an empty string), so it
//! reads CSV with this small tokenizer instead. It also checks that the input is UTF-8 as it
//! reads, so an error can name the exact byte offset, and counts physical lines, so a ragged row
//! can name its line even when earlier fields hold newlines.
//!
//! Rules (RFC 4180, plus what real files need):
//! - fields are separated by the delimiter (`,` by default) and records by `\n`, `\r\n` or `\r`;
//! - a field that starts with `"` is quoted: it ends at the next lone `"`, `""` inside it is one
//!   `"`, and delimiters and line breaks inside it are data; text between its closing quote and
//!   the next delimiter or line break is an error;
//! - a `"` inside an unquoted field is kept as data (common in the wild, harmless);
//! - a UTF-8 byte order mark at the very start is skipped;
//! - blank lines are skipped before the header, and after it when rows have more than one field
//!   (in a one-column file a blank line is a missing value).

use std::io::Read;

use super::error::InputError;

/// Bytes read from the file at a time: large enough to amortize the system calls, small enough
/// to stay in the CPU's cache while the fields are copied out.
const BUF_SIZE: usize = 256 * 1024;

/// One CSV record: its fields' text, whether each was quoted, and the line it starts on.
#[derive(Debug, Default)]
pub(crate) struct Record {
    text: String,
    fields: Vec<Field>,
    line: u64,
}

#[derive(Debug, Clone, Copy)]
struct Field {
    end: usize,
    quoted: bool,
}

impl Record {
    /// The number of fields.
    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }

    /// The physical line (1-based) the record starts on.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// Field `i`'s text and whether it was quoted.
    pub(crate) fn get(&self, i: usize) -> (&str, bool) {
        let start = if i == 0 { 0 } else { self.fields[i - 1].end };
        let f = self.fields[i];
        (&self.text[start..f.end], f.quoted)
    }

    /// Every field's text and whether it was quoted.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, bool)> + '_ {
        (0..self.fields.len()).map(|i| self.get(i))
    }
}

#[derive(Clone, Copy)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// Just saw a `"` inside a quoted field: either the first half of `""` or the closing quote.
    QuoteSeen,
}

/// Reads records from a byte stream.
pub(crate) struct CsvReader<R> {
    rdr: R,
    buf: Vec<u8>,
    /// Next byte to parse.
    pos: usize,
    /// End of the prefix of `buf` known to be valid UTF-8; the parser never reads past it.
    valid_end: usize,
    /// End of the bytes read into `buf` (beyond `valid_end`: at most an incomplete character).
    filled: usize,
    /// Offset in the stream of `buf[0]`.
    buf_offset: u64,
    started: bool,
    eof: bool,
    delimiter: u8,
    /// Bytes that end an unquoted field: the delimiter, `\r` and `\n`.
    special: [bool; 256],
    /// The current physical line (1-based).
    line: u64,
    /// The previous record ended with `\r`: a `\n` right after it belongs to the same break.
    after_cr: bool,
    skip_blank_lines: bool,
}

impl<R: Read> CsvReader<R> {
    /// A reader splitting fields on `delimiter`, which must be an ASCII byte other than `"`,
    /// `\r` and `\n` (checked by the caller's options).
    pub(crate) fn new(rdr: R, delimiter: u8) -> Self {
        Self::with_capacity(rdr, delimiter, BUF_SIZE)
    }

    fn with_capacity(rdr: R, delimiter: u8, capacity: usize) -> Self {
        debug_assert!(delimiter.is_ascii() && !matches!(delimiter, b'"' | b'\r' | b'\n'));
        let mut special = [false; 256];
        special[delimiter as usize] = true;
        special[b'\r' as usize] = true;
        special[b'\n' as usize] = true;
        CsvReader {
            rdr,
            // Room for the carried-over bytes of an incomplete character plus at least one more.
            buf: vec![0; capacity.max(8)],
            pos: 0,
            valid_end: 0,
            filled: 0,
            buf_offset: 0,
            started: false,
            eof: false,
            delimiter,
            special,
            line: 1,
            after_cr: false,
            skip_blank_lines: true,
        }
    }

    /// Whether blank lines are skipped (the default) or read as a record of one empty field.
    pub(crate) fn set_skip_blank_lines(&mut self, yes: bool) {
        self.skip_blank_lines = yes;
    }

    /// Reads more bytes once every validated byte has been parsed. Returns false at the end of
    /// the stream.
    fn fill(&mut self) -> Result<bool, InputError> {
        debug_assert_eq!(self.pos, self.valid_end);
        // Keep the bytes of a character split across reads; they are validated with the rest.
        let carry = self.filled - self.valid_end;
        self.buf.copy_within(self.valid_end..self.filled, 0);
        self.buf_offset += self.valid_end as u64;
        self.pos = 0;
        self.valid_end = 0;
        self.filled = carry;
        loop {
            if self.eof {
                return Ok(false);
            }
            let n = loop {
                match self.rdr.read(&mut self.buf[self.filled..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(InputError::Unreadable(e)),
                }
            };
            if n == 0 {
                self.eof = true;
                if self.filled > 0 {
                    // The stream ends inside a character.
                    return Err(InputError::InvalidUtf8 {
                        offset: self.buf_offset,
                    });
                }
                return Ok(false);
            }
            self.filled += n;
            match std::str::from_utf8(&self.buf[..self.filled]) {
                Ok(_) => self.valid_end = self.filled,
                Err(e) if e.error_len().is_some() => {
                    return Err(InputError::InvalidUtf8 {
                        offset: self.buf_offset + e.valid_up_to() as u64,
                    });
                }
                Err(e) => self.valid_end = e.valid_up_to(),
            }
            if !self.started {
                const BOM: &[u8] = b"\xEF\xBB\xBF";
                let n = self.filled.min(BOM.len());
                if n < BOM.len() && self.buf[..n] == BOM[..n] {
                    // Too few bytes yet to tell whether the stream starts with a BOM.
                    continue;
                }
                self.started = true;
                if self.buf[..self.filled].starts_with(BOM) {
                    self.pos = BOM.len();
                }
            }
            if self.valid_end > self.pos {
                return Ok(true);
            }
        }
    }

    /// Reads the next record into `rec`. Returns false at the end of the stream.
    pub(crate) fn read_record(&mut self, rec: &mut Record) -> Result<bool, InputError> {
        // Reuse the record's allocation: the text is built as bytes and handed back as a String
        // without copying.
        let mut data = std::mem::take(&mut rec.text).into_bytes();
        data.clear();
        rec.fields.clear();
        // Skip the `\n` of a `\r\n` break, and blank lines.
        loop {
            if self.pos == self.valid_end && !self.fill()? {
                rec.text = String::from_utf8(data).unwrap_or_default();
                return Ok(false);
            }
            let b = self.buf[self.pos];
            if self.after_cr && b == b'\n' {
                self.after_cr = false;
                self.pos += 1;
                continue;
            }
            self.after_cr = false;
            if self.skip_blank_lines && (b == b'\n' || b == b'\r') {
                self.pos += 1;
                self.line += 1;
                self.after_cr = b == b'\r';
                continue;
            }
            break;
        }
        rec.line = self.line;
        let start_offset = self.buf_offset + self.pos as u64;
        let mut state = State::FieldStart;
        let mut quote_line = self.line;
        loop {
            if self.pos == self.valid_end && !self.fill()? {
                match state {
                    State::Quoted => return Err(InputError::UnclosedQuote { line: quote_line }),
                    State::QuoteSeen => rec.fields.push(Field {
                        end: data.len(),
                        quoted: true,
                    }),
                    State::FieldStart | State::Unquoted => rec.fields.push(Field {
                        end: data.len(),
                        quoted: false,
                    }),
                }
                break;
            }
            match state {
                State::FieldStart => {
                    if self.buf[self.pos] == b'"' {
                        self.pos += 1;
                        quote_line = self.line;
                        state = State::Quoted;
                    } else {
                        state = State::Unquoted;
                    }
                }
                State::Unquoted => {
                    let chunk = &self.buf[self.pos..self.valid_end];
                    let Some(i) = chunk.iter().position(|&b| self.special[b as usize]) else {
                        data.extend_from_slice(chunk);
                        self.pos = self.valid_end;
                        continue;
                    };
                    data.extend_from_slice(&chunk[..i]);
                    let b = chunk[i];
                    self.pos += i + 1;
                    rec.fields.push(Field {
                        end: data.len(),
                        quoted: false,
                    });
                    if b == self.delimiter {
                        state = State::FieldStart;
                    } else {
                        self.end_line(b);
                        break;
                    }
                }
                State::Quoted => {
                    let chunk = &self.buf[self.pos..self.valid_end];
                    let Some(i) = chunk.iter().position(|&b| b == b'"' || b == b'\n') else {
                        data.extend_from_slice(chunk);
                        self.pos = self.valid_end;
                        continue;
                    };
                    data.extend_from_slice(&chunk[..i]);
                    let b = chunk[i];
                    self.pos += i + 1;
                    if b == b'\n' {
                        data.push(b'\n');
                        self.line += 1;
                    } else {
                        state = State::QuoteSeen;
                    }
                }
                State::QuoteSeen => {
                    let b = self.buf[self.pos];
                    if b == b'"' {
                        data.push(b'"');
                        self.pos += 1;
                        state = State::Quoted;
                    } else if b == self.delimiter {
                        self.pos += 1;
                        rec.fields.push(Field {
                            end: data.len(),
                            quoted: true,
                        });
                        state = State::FieldStart;
                    } else if b == b'\n' || b == b'\r' {
                        self.pos += 1;
                        rec.fields.push(Field {
                            end: data.len(),
                            quoted: true,
                        });
                        self.end_line(b);
                        break;
                    } else {
                        return Err(InputError::TextAfterQuote {
                            line: self.line,
                            field: rec.fields.len() + 1,
                        });
                    }
                }
            }
        }
        // The stream was validated as UTF-8 and fields are split only at ASCII bytes, so this
        // cannot fail; if it ever did, the record's offset is the best position to report.
        rec.text = String::from_utf8(data).map_err(|_| InputError::InvalidUtf8 {
            offset: start_offset,
        })?;
        Ok(true)
    }

    fn end_line(&mut self, b: u8) {
        self.line += 1;
        self.after_cr = b == b'\r';
    }
}

/// Records handed from the tokenizer thread at a time, at most: enough to make the hand-over
/// cost nothing per record, few enough to stay small.
const CHUNK_RECORDS: usize = 1024;

/// A chunk is also handed over once its text reaches this size, so long fields do not make
/// chunks large.
const CHUNK_BYTES: usize = 1024 * 1024;

/// Chunks waiting for the consumer: the tokenizer runs at most this far ahead.
const CHUNKS_IN_FLIGHT: usize = 2;

impl<R: Read + Send + 'static> CsvReader<R> {
    /// Moves the reader to a thread of its own that tokenizes ahead of the caller, so reading
    /// and splitting the file overlaps with classifying or converting the records (the other
    /// core would otherwise sit idle).
    pub(crate) fn into_threaded(self) -> ThreadedReader {
        let (tx, rx) = std::sync::mpsc::sync_channel(CHUNKS_IN_FLIGHT);
        let (recycle_tx, recycle_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("csv-tokenizer".into())
            .spawn(move || tokenize(self, &tx, &recycle_rx))
            .ok();
        ThreadedReader {
            rx: Some(rx),
            recycle: recycle_tx,
            chunk: Vec::new(),
            next: 0,
            thread,
        }
    }
}

type Chunk = Vec<Record>;

fn tokenize<R: Read>(
    mut rdr: CsvReader<R>,
    tx: &std::sync::mpsc::SyncSender<Result<Chunk, InputError>>,
    recycle: &std::sync::mpsc::Receiver<Chunk>,
) {
    loop {
        // Reuse a chunk the consumer is done with: its records keep their allocations.
        let mut chunk = recycle.try_recv().unwrap_or_default();
        let mut n = 0;
        let mut bytes = 0;
        let outcome = loop {
            if n == chunk.len() {
                chunk.push(Record::default());
            }
            match rdr.read_record(&mut chunk[n]) {
                Ok(true) => {
                    bytes += chunk[n].text.len();
                    n += 1;
                    if n == CHUNK_RECORDS || bytes >= CHUNK_BYTES {
                        break Ok(true);
                    }
                }
                Ok(false) => break Ok(false),
                Err(e) => break Err(e),
            }
        };
        chunk.truncate(n);
        // A failed send means the consumer stopped listening: stop too.
        if n > 0 && tx.send(Ok(chunk)).is_err() {
            return;
        }
        match outcome {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

/// Records read by a tokenizer thread, in order (see [`CsvReader::into_threaded`]).
pub(crate) struct ThreadedReader {
    rx: Option<std::sync::mpsc::Receiver<Result<Chunk, InputError>>>,
    recycle: std::sync::mpsc::Sender<Chunk>,
    chunk: Chunk,
    next: usize,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ThreadedReader {
    /// The next record, `None` at the end of the stream.
    pub(crate) fn next_record(&mut self) -> Result<Option<&Record>, InputError> {
        if self.next == self.chunk.len() {
            let done = std::mem::take(&mut self.chunk);
            if !done.is_empty() {
                let _ = self.recycle.send(done);
            }
            let Some(rx) = &self.rx else { return Ok(None) };
            match rx.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.next = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    if self.thread.is_none() {
                        return Err(InputError::Unreadable(std::io::Error::other(
                            "cannot start a thread to read the file",
                        )));
                    }
                    return Ok(None);
                }
            }
        }
        self.next += 1;
        Ok(Some(&self.chunk[self.next - 1]))
    }
}

impl Drop for ThreadedReader {
    /// Stops the tokenizer (it sees the channel close at its next hand-over) and waits for it,
    /// so no thread outlives the import.
    fn drop(&mut self) {
        self.rx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `input` with a given buffer size into (text, quoted) rows, or the error.
    fn parse_with(
        input: &[u8],
        cap: usize,
        skip_blank: bool,
    ) -> Result<Vec<Vec<(String, bool)>>, InputError> {
        let mut r = CsvReader::with_capacity(input, b',', cap);
        r.set_skip_blank_lines(skip_blank);
        let mut rec = Record::default();
        let mut out = Vec::new();
        while r.read_record(&mut rec)? {
            out.push(rec.iter().map(|(t, q)| (t.to_owned(), q)).collect());
        }
        Ok(out)
    }

    /// Parses with several buffer sizes (so every split point is exercised) and checks they agree.
    fn parse(input: &str) -> Vec<Vec<(String, bool)>> {
        let want = parse_with(input.as_bytes(), BUF_SIZE, true).unwrap();
        for cap in [1, 2, 3, 5, 8] {
            assert_eq!(
                parse_with(input.as_bytes(), cap, true).unwrap(),
                want,
                "capacity {cap}"
            );
        }
        want
    }

    fn u(s: &str) -> (String, bool) {
        (s.to_owned(), false)
    }
    fn q(s: &str) -> (String, bool) {
        (s.to_owned(), true)
    }

    #[test]
    fn splits_fields_and_records() {
        assert_eq!(
            parse("a,b,c\n1,2,3\n"),
            vec![vec![u("a"), u("b"), u("c")], vec![u("1"), u("2"), u("3")]]
        );
        assert_eq!(
            parse("a,b\n1,2"),
            vec![vec![u("a"), u("b")], vec![u("1"), u("2")]],
            "no final newline"
        );
        assert_eq!(
            parse("a,b\r\n1,2\r\n"),
            vec![vec![u("a"), u("b")], vec![u("1"), u("2")]],
            "CRLF"
        );
        assert_eq!(
            parse("a,b\r1,2\r"),
            vec![vec![u("a"), u("b")], vec![u("1"), u("2")]],
            "old Mac CR"
        );
    }

    #[test]
    fn empty_unquoted_and_quoted_empty_differ() {
        assert_eq!(
            parse("a,b,c\n,\"\",x\n"),
            vec![vec![u("a"), u("b"), u("c")], vec![u(""), q(""), u("x")]]
        );
        assert_eq!(
            parse("a,b\n1,\n"),
            vec![vec![u("a"), u("b")], vec![u("1"), u("")]],
            "trailing delimiter"
        );
        assert_eq!(
            parse("a,b\n1,"),
            vec![vec![u("a"), u("b")], vec![u("1"), u("")]],
            "trailing delimiter at EOF"
        );
        assert_eq!(
            parse("a,b\n1,\"\""),
            vec![vec![u("a"), u("b")], vec![u("1"), q("")]],
            "quoted empty at EOF"
        );
    }

    #[test]
    fn quoted_fields_hold_delimiters_quotes_and_newlines() {
        let rows = parse("a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"line1\nline2\r\nline3\",\"\"\"\"\n");
        assert_eq!(rows[1], vec![q("x,y"), q("say \"hi\"")]);
        assert_eq!(rows[2], vec![q("line1\nline2\r\nline3"), q("\"")]);
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_data() {
        assert_eq!(parse("a\n5\"6\n"), vec![vec![u("a")], vec![u("5\"6")]]);
    }

    #[test]
    fn unicode_is_kept_across_buffer_boundaries() {
        let rows = parse("名前,ville\n\"Zoë, 🚀\",São Paulo\n");
        assert_eq!(rows[1], vec![q("Zoë, 🚀"), u("São Paulo")]);
    }

    #[test]
    fn skips_bom_and_blank_lines() {
        assert_eq!(
            parse("\u{feff}a,b\n\n1,2\n\r\n\n"),
            vec![vec![u("a"), u("b")], vec![u("1"), u("2")]]
        );
        let single = parse_with(b"a\n1\n\n2\n", 4, false).unwrap();
        assert_eq!(
            single,
            vec![vec![u("a")], vec![u("1")], vec![u("")], vec![u("2")]],
            "one-column blank line is a null"
        );
    }

    #[test]
    fn counts_lines_through_quoted_newlines() {
        let mut r = CsvReader::with_capacity("h\n\"a\nb\nc\"\n\r\nx\r\ny\n".as_bytes(), b',', 3);
        let mut rec = Record::default();
        let mut lines = Vec::new();
        while r.read_record(&mut rec).unwrap() {
            lines.push(rec.line());
        }
        assert_eq!(lines, vec![1, 2, 6, 7]);
    }

    #[test]
    fn errors_name_the_place() {
        for cap in [2, 4, BUF_SIZE] {
            match parse_with(b"a,b\n1,\"open\n2,3\n", cap, true) {
                Err(InputError::UnclosedQuote { line: 2 }) => {}
                other => panic!("unclosed quote, capacity {cap}: {other:?}"),
            }
            match parse_with(b"a,b\n1,2\n\"x\"y,3\n", cap, true) {
                Err(InputError::TextAfterQuote { line: 3, field: 1 }) => {}
                other => panic!("text after quote, capacity {cap}: {other:?}"),
            }
            // 'é' is C3 A9; a lone C3 followed by ',' is invalid at offset 6.
            match parse_with(b"a,b\n1,\xC3,2\n", cap, true) {
                Err(InputError::InvalidUtf8 { offset: 6 }) => {}
                other => panic!("invalid UTF-8, capacity {cap}: {other:?}"),
            }
            match parse_with(b"a,b\n1,\xFF\n", cap, true) {
                Err(InputError::InvalidUtf8 { offset: 6 }) => {}
                other => panic!("invalid byte, capacity {cap}: {other:?}"),
            }
            match parse_with(b"a,b\n1,\xC3", cap, true) {
                Err(InputError::InvalidUtf8 { offset: 6 }) => {}
                other => panic!("truncated character at EOF, capacity {cap}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_threaded_reader_gives_the_same_records_and_errors() {
        let mut text = String::from("a,b\n");
        for i in 0..5000 {
            text.push_str(&format!("{i},\"x\ny\"\n"));
        }
        let mut t =
            CsvReader::new(std::io::Cursor::new(text.clone().into_bytes()), b',').into_threaded();
        let mut got = Vec::new();
        while let Some(rec) = t.next_record().unwrap() {
            got.push((
                rec.line(),
                rec.iter()
                    .map(|(s, q)| (s.to_owned(), q))
                    .collect::<Vec<_>>(),
            ));
        }
        assert_eq!(got.len(), 5001);
        assert_eq!(got[5000], (10_000, vec![u("4999"), q("x\ny")]));

        text.push_str("1,\"open\n");
        let mut t = CsvReader::new(std::io::Cursor::new(text.into_bytes()), b',').into_threaded();
        let mut n = 0;
        let err = loop {
            match t.next_record() {
                Ok(Some(_)) => n += 1,
                Ok(None) => panic!("expected an error"),
                Err(e) => break e,
            }
        };
        assert_eq!(n, 5001, "every record before the error arrives first");
        assert!(
            matches!(err, InputError::UnclosedQuote { line: 10_002 }),
            "{err:?}"
        );

        // Dropping a reader mid-file stops its thread.
        let big = "a\n1\n".repeat(100_000);
        let mut t = CsvReader::new(std::io::Cursor::new(big.into_bytes()), b',').into_threaded();
        t.next_record().unwrap();
        drop(t);
    }

    #[test]
    fn other_delimiters() {
        let mut r = CsvReader::new("a\tb\n\"x\ty\"\t2\n".as_bytes(), b'\t');
        let mut rec = Record::default();
        assert!(r.read_record(&mut rec).unwrap());
        assert!(r.read_record(&mut rec).unwrap());
        assert_eq!(rec.get(0), ("x\ty", true));
        assert_eq!(rec.get(1), ("2", false));
    }

    /// Writes random records the way a careful CSV writer would and reads them back with every
    /// small buffer size: the tokenizer must give back exactly what was written.
    #[test]
    fn round_trips_random_records() {
        let alphabet = ["a", "b", ",", "\"", "\n", "\r\n", " ", "é", "🚀", "1", ""];
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..300 {
            let cols = rng.usize(2..5);
            let rows: Vec<Vec<Option<String>>> = (0..rng.usize(1..6))
                .map(|_| {
                    (0..cols)
                        .map(|_| {
                            if rng.u8(..) < 40 {
                                None
                            } else {
                                let n = rng.usize(0..6);
                                Some(
                                    (0..n)
                                        .map(|_| alphabet[rng.usize(..alphabet.len())])
                                        .collect(),
                                )
                            }
                        })
                        .collect()
                })
                .collect();
            let mut text = String::new();
            for row in &rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| match c {
                        None => String::new(),
                        Some(s) => format!("\"{}\"", s.replace('"', "\"\"")),
                    })
                    .collect();
                text.push_str(&cells.join(","));
                text.push_str(if rng.bool() { "\n" } else { "\r\n" });
            }
            for cap in [1, 3, 7, 64] {
                let got = parse_with(text.as_bytes(), cap, true).unwrap();
                let want: Vec<Vec<(String, bool)>> = rows
                    .iter()
                    .map(|r| {
                        r.iter()
                            .map(|c| (c.clone().unwrap_or_default(), c.is_some()))
                            .collect()
                    })
                    .collect();
                assert_eq!(got, want, "input {text:?} capacity {cap}");
            }
        }
    }
}

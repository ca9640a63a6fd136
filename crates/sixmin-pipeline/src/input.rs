//! Event sources read as lines: JSON Lines files (plain or gzip) and standard input, read
//! line by line with their numbers, never more than a bounded part of one line in memory,
//! and fingerprinted with SHA-256 so a state knows what it has read.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};
use sixmin_core::{decode_event_with_limit, Event};

use crate::dead_letter::{Origin, DEAD_LETTER_MAX_BYTES};
use crate::driver::Record;

/// One input as named on the command line.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file.
    File(PathBuf),
    /// Standard input.
    Stdin,
}

impl Source {
    /// From a command-line argument (`-` is standard input).
    pub fn from_arg(path: &Path) -> Source {
        if path.as_os_str() == "-" {
            Source::Stdin
        } else {
            Source::File(path.to_path_buf())
        }
    }

    /// A name for people and reports: the file name, or `stdin`.
    pub fn name(&self) -> String {
        match self {
            Source::File(path) => path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            Source::Stdin => "stdin".to_owned(),
        }
    }
}

/// SHA-256 (hex) of a file's bytes as stored.
pub fn sha256_of_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A reader that hashes what passes through it (for standard input).
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    /// Wraps a reader.
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The hash of everything read so far.
    pub fn sha256(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        Ok(read)
    }
}

/// Opens a file, transparently decompressing gzip (by its magic bytes).
pub fn open_lines(path: &Path) -> io::Result<Box<dyn BufRead>> {
    lines_of(File::open(path)?)
}

/// Buffers a byte stream (a file, standard input), transparently decompressing gzip (by
/// its magic bytes): the same bytes are accepted from every source.
pub fn lines_of<'a>(reader: impl Read + 'a) -> io::Result<Box<dyn BufRead + 'a>> {
    let mut buffered = BufReader::with_capacity(1 << 16, reader);
    let is_gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    if is_gzip {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(buffered),
        )))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{what} `{}`: {source}", path.display())]
pub struct InputError {
    /// `opening` or `reading`.
    pub what: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What the system said.
    #[source]
    pub source: io::Error,
}

/// Every valid event of `call_id` in `files`, in file order (invalid lines are skipped:
/// `replay` reports them; a line over `max_event_bytes` is no event). Only lines that
/// mention the id are decoded.
pub fn events_of_call(
    files: &[PathBuf],
    call_id: &str,
    max_event_bytes: usize,
) -> Result<Vec<Event<'static>>, InputError> {
    let mut events = Vec::new();
    let needle = call_id.as_bytes();
    for path in files {
        let error = |what| {
            let path = path.clone();
            move |source| InputError { what, path, source }
        };
        let reader = open_lines(path).map_err(error("opening"))?;
        let mut lines = LineReader::new(reader, "", max_event_bytes);
        while lines.advance().map_err(error("reading"))? {
            let record = lines.record();
            let line = record.bytes;
            if record.length > max_event_bytes
                || is_blank(line)
                || !line.windows(needle.len()).any(|window| window == needle)
            {
                continue;
            }
            if let Ok(event) = decode_event_with_limit(line, max_event_bytes) {
                if event.call_id == call_id {
                    events.push(event.into_owned());
                }
            }
        }
    }
    Ok(events)
}

/// Whether a line holds nothing but white space (skipped, not an event).
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Reads a stream line by line, keeping at most a bounded prefix of each line: a line
/// longer than the largest event accepted is measured to its end but not kept whole, so
/// one bad line cannot fill memory.
pub struct LineReader<R> {
    reader: R,
    source: String,
    keep: usize,
    line: Vec<u8>,
    length: usize,
    number: u64,
}

impl<R: BufRead> LineReader<R> {
    /// Reads `reader`, named `source` in dead letters, keeping whole every line of at
    /// most `max_event_bytes` (and the first [`DEAD_LETTER_MAX_BYTES`] of longer ones).
    pub fn new(reader: R, source: &str, max_event_bytes: usize) -> LineReader<R> {
        LineReader {
            reader,
            source: source.to_owned(),
            keep: max_event_bytes.max(DEAD_LETTER_MAX_BYTES),
            line: Vec::with_capacity(512),
            length: 0,
            number: 0,
        }
    }

    /// Reads the next line (without its `\n` or `\r\n`); `false` at the end.
    pub fn advance(&mut self) -> io::Result<bool> {
        self.line.clear();
        self.length = 0;
        let mut seen_any = false;
        let mut ends_in_cr = false;
        let mut ended_at_newline = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                break;
            }
            seen_any = true;
            let (part, used, done) = match memchr::memchr(b'\n', available) {
                Some(end) => (&available[..end], end + 1, true),
                None => (available, available.len(), false),
            };
            let room = self.keep.saturating_sub(self.line.len());
            self.line.extend_from_slice(&part[..part.len().min(room)]);
            self.length += part.len();
            if let Some(&last) = part.last() {
                ends_in_cr = last == b'\r';
            }
            self.reader.consume(used);
            if done {
                ended_at_newline = true;
                break;
            }
        }
        if !seen_any {
            return Ok(false);
        }
        // `\r\n` ends a line; a lone `\r` at the end of the stream is the line's own.
        if ends_in_cr && ended_at_newline {
            self.length -= 1;
            if self.line.len() > self.length {
                self.line.pop();
            }
        }
        self.number += 1;
        Ok(true)
    }

    /// The line read last, as kept (the whole line, or the start of a line over the
    /// limit).
    pub fn line(&self) -> &[u8] {
        &self.line
    }

    /// The number of the line read last, from 1.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The line read last as a record for the driver.
    pub fn record(&self) -> Record<'_> {
        Record {
            origin: Origin::Line {
                source: &self.source,
                line: self.number,
            },
            bytes: &self.line,
            length: self.length,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8], max: usize) -> Vec<(Vec<u8>, usize)> {
        let mut reader = LineReader::new(text, "t", max);
        let mut out = Vec::new();
        while reader.advance().expect("reading memory never fails") {
            let record = reader.record();
            out.push((record.bytes.to_vec(), record.length));
        }
        out
    }

    #[test]
    fn lines_lose_their_newline_and_carriage_return() {
        let read = lines(b"a\r\nbb\n\nccc", 10);
        assert_eq!(
            read,
            vec![
                (b"a".to_vec(), 1),
                (b"bb".to_vec(), 2),
                (Vec::new(), 0),
                (b"ccc".to_vec(), 3)
            ]
        );
    }

    #[test]
    fn a_line_over_the_limit_is_measured_whole_but_kept_only_in_part() {
        let long = vec![b'x'; DEAD_LETTER_MAX_BYTES * 3];
        let mut text = long.clone();
        text.extend_from_slice(b"\r\nnext\n");
        let read = lines(&text, 100);
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].0.len(), DEAD_LETTER_MAX_BYTES);
        assert_eq!(read[0].1, long.len());
        assert_eq!(read[1], (b"next".to_vec(), 4));
    }

    #[test]
    fn a_carriage_return_at_the_very_end_is_part_of_the_last_line() {
        assert_eq!(
            lines(b"a\r\nb\r", 10),
            vec![(b"a".to_vec(), 1), (b"b\r".to_vec(), 2)]
        );
    }

    #[test]
    fn a_line_split_between_reads_is_one_line() {
        let text = b"first line\r\nsecond\r\n";
        // A buffer of 3 bytes splits the line, and its `\r\n`, between reads.
        let reader = std::io::BufReader::with_capacity(3, &text[..]);
        let mut lines = LineReader::new(reader, "t", 100);
        let mut read = Vec::new();
        while lines.advance().expect("reading memory never fails") {
            read.push(lines.line().to_vec());
        }
        assert_eq!(read, vec![b"first line".to_vec(), b"second".to_vec()]);
    }

    #[test]
    fn numbers_count_every_line_from_one() {
        let mut reader = LineReader::new(&b"a\n\nb\n"[..], "t", 10);
        let mut numbers = Vec::new();
        while reader.advance().expect("reading memory never fails") {
            numbers.push(reader.number());
        }
        assert_eq!(numbers, vec![1, 2, 3]);
    }
}

//! Writing to stdout and stderr without panicking: the `print!` family panics when a write
//! fails (a closed pipe, a full disk), and a panic in the middle of an apply would leave a
//! replace half done.
//!
//! - **stderr** carries diagnostics, progress, notes and errors: a write there that fails is
//!   dropped ([`stderr_line`], [`Lossy`]), so a full or closed stderr never stops a command,
//!   least of all an apply between its steps.
//! - **stdout** carries the command's document: a write there that fails is an error the
//!   command returns, saying it was stdout's ([`stdout`]); a closed pipe then ends quietly
//!   (`svcbind plan | head` is not a failure). `apply` alone writes stdout through a [`Lossy`]
//!   too, so its steps run to their end whatever happens to stdout and its exit code says how
//!   the apply went.

use std::fmt::Display;
use std::io::{self, Write};

/// Writes `line` and a newline to stderr; a failure is dropped.
pub(crate) fn stderr_line(line: impl Display) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{line}").and_then(|()| err.flush());
}

/// Writes `text` to stderr without a newline (a prompt); a failure is dropped.
pub(crate) fn stderr_text(text: impl Display) {
    let mut err = io::stderr().lock();
    let _ = write!(err, "{text}").and_then(|()| err.flush());
}

/// Stdout, locked, whose errors say they are stdout's: `cannot write to stdout: No space left
/// on device`. The error keeps its kind, so a closed pipe is still told apart.
pub(crate) fn stdout() -> Stdout {
    Stdout(io::stdout().lock())
}

/// See [`stdout`].
#[derive(Debug)]
pub(crate) struct Stdout(io::StdoutLock<'static>);

/// `e` with the words that say it was a write to stdout.
fn on_stdout(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::Interrupted {
        return e;
    }
    io::Error::new(e.kind(), format!("cannot write to stdout: {e}"))
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(on_stdout)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(on_stdout)
    }
}

/// A writer that never fails: the first error is kept ([`Lossy::error`]) and every later
/// write is dropped, so a renderer's `?` never cuts short the work around it.
#[derive(Debug)]
pub(crate) struct Lossy<W> {
    inner: W,
    error: Option<io::Error>,
}

impl<W: Write> Lossy<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self { inner, error: None }
    }

    /// The first write error, if any.
    pub(crate) fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    fn keep<T: Default>(&mut self, result: io::Result<T>) -> io::Result<T> {
        match result {
            // Retried by `write_all`.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                self.error = Some(e);
                Ok(T::default())
            }
            ok => ok,
        }
    }
}

impl<W: Write> Write for Lossy<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.error.is_some() {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Ok(n) => Ok(n),
            Err(e) => self.keep(Err(e)).map(|()| buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.error.is_some() {
            return Ok(());
        }
        let result = self.inner.flush();
        self.keep(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes `room` bytes, then fails as a full disk does.
    struct Full {
        room: usize,
        written: Vec<u8>,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from_raw_os_error(28));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stdout_error_names_stdout_and_keeps_its_kind() {
        let e = on_stdout(io::Error::from_raw_os_error(28));
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert!(e.to_string().starts_with("cannot write to stdout: "), "{e}");
        let pipe = on_stdout(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(pipe.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn a_lossy_writer_keeps_the_first_error_and_drops_the_rest() {
        let mut w = Lossy::new(Full {
            room: 4,
            written: Vec::new(),
        });
        assert!(writeln!(w, "abcdefgh").is_ok());
        assert!(writeln!(w, "more").is_ok());
        assert!(w.flush().is_ok());
        assert_eq!(w.inner.written, b"abcd");
        assert_eq!(w.error().map(io::Error::raw_os_error), Some(Some(28)));
    }
}

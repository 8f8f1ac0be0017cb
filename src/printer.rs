//! The one way output leaves offersync: data on stdout, everything else (progress,
//! warnings, errors) on stderr, every line scrubbed of known secrets, colour only where
//! it helps (a terminal, `NO_COLOR` unset, or `--color always`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use crate::plan::show::Style;
use crate::secret::Redactor;

/// `--color`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// Where printed text goes: the real streams, or memory (tests, the demo's capture).
#[derive(Clone, Debug)]
enum Sink {
    Std,
    Memory(Arc<Mutex<Captured>>),
}

/// Text printed to a memory sink.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    pub stdout: String,
    pub stderr: String,
}

#[derive(Clone, Debug)]
pub struct Printer {
    stdout_color: bool,
    stderr_color: bool,
    redactor: Redactor,
    sink: Sink,
    /// Whether progress bars are drawn: only when stderr is a terminal.
    bars: bool,
    /// The bar on the last line of stderr, if any: cleared before anything else is
    /// printed and drawn again after it.
    bar: Arc<Mutex<Option<Bar>>>,
}

/// A one-line progress bar: `applying [########--------] 12/24`.
#[derive(Clone, Debug)]
struct Bar {
    label: String,
    done: usize,
    total: usize,
}

impl Bar {
    const WIDTH: usize = 24;

    fn line(&self) -> String {
        let filled = (self.done.min(self.total) * Self::WIDTH)
            .checked_div(self.total)
            .unwrap_or(Self::WIDTH);
        format!(
            "{} [{}{}] {}/{}",
            self.label,
            "#".repeat(filled),
            "-".repeat(Self::WIDTH - filled),
            self.done,
            self.total
        )
    }
}

/// Clears the current terminal line.
const CLEAR_LINE: &str = "\r\x1b[2K";

/// A progress bar in use, drawn from its first update; cleared when dropped.
#[derive(Debug)]
pub struct Progress<'a> {
    printer: &'a Printer,
    label: String,
}

impl Progress<'_> {
    /// `done` of `total` steps are finished.
    pub fn update(&self, done: usize, total: usize) {
        if !self.printer.bars || total == 0 {
            return;
        }
        let mut bar = self
            .printer
            .bar
            .lock()
            .expect("the bar lock is never poisoned");
        let bar = bar.get_or_insert_with(|| Bar {
            label: self.label.clone(),
            done,
            total,
        });
        bar.done = done;
        bar.total = total;
        self.printer
            .raw_stderr(&format!("{CLEAR_LINE}{}", bar.line()));
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        let mut bar = self
            .printer
            .bar
            .lock()
            .expect("the bar lock is never poisoned");
        if bar.take().is_some() {
            self.printer.raw_stderr(CLEAR_LINE);
        }
    }
}

impl Printer {
    pub fn new(choice: ColorChoice) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|term| term == "dumb");
        let decide = |is_terminal: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color && !dumb,
        };
        let stderr_terminal = std::io::stderr().is_terminal();
        Self {
            stdout_color: decide(std::io::stdout().is_terminal()),
            stderr_color: decide(stderr_terminal),
            redactor: Redactor::default(),
            sink: Sink::Std,
            bars: stderr_terminal && !dumb,
            bar: Arc::default(),
        }
    }

    /// A printer that keeps what it prints, without colour.
    pub fn memory() -> (Self, Arc<Mutex<Captured>>) {
        let captured = Arc::new(Mutex::new(Captured::default()));
        let printer = Self {
            stdout_color: false,
            stderr_color: false,
            redactor: Redactor::default(),
            sink: Sink::Memory(captured.clone()),
            bars: false,
            bar: Arc::default(),
        };
        (printer, captured)
    }

    /// A progress bar on the last line of stderr, at a terminal; nothing elsewhere (logs
    /// and CI output stay clean).
    pub fn progress(&self, label: &str) -> Progress<'_> {
        Progress {
            printer: self,
            label: label.to_owned(),
        }
    }

    /// Scrub these secrets from everything printed from now on.
    pub fn set_redactor(&mut self, redactor: Redactor) {
        self.redactor = redactor;
    }

    /// Style for data printed on stdout (the plan).
    pub fn stdout_style(&self) -> Style {
        Style {
            color: self.stdout_color,
        }
    }

    /// Data: the plan, JSON, a result. Printed as given (no newline added).
    pub fn data(&self, text: &str) {
        self.write(false, &self.redactor.redact(text));
    }

    /// A line of progress or information, on stderr.
    pub fn status(&self, line: &str) {
        self.write(true, &format!("{}\n", self.redactor.redact(line)));
    }

    pub fn warn(&self, message: &str) {
        let label = self.label("warning:", "33");
        self.write(
            true,
            &format!("{label} {}\n", self.redactor.redact(message)),
        );
    }

    /// An error: `error: <first line>`, further lines indented as given.
    pub fn error(&self, message: &str) {
        let label = self.label("error:", "31");
        self.write(
            true,
            &format!("{label} {}\n", self.redactor.redact(message)),
        );
    }

    fn label(&self, text: &str, code: &str) -> String {
        if self.stderr_color {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn write(&self, to_stderr: bool, text: &str) {
        let bar = self.bar.lock().expect("the bar lock is never poisoned");
        if bar.is_some() {
            self.raw_stderr(CLEAR_LINE);
        }
        self.raw(to_stderr, text);
        if let Some(bar) = bar.as_ref() {
            self.raw_stderr(&format!("{CLEAR_LINE}{}", bar.line()));
        }
    }

    fn raw_stderr(&self, text: &str) {
        self.raw(true, text);
    }

    fn raw(&self, to_stderr: bool, text: &str) {
        match &self.sink {
            Sink::Std if to_stderr => {
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            }
            Sink::Std => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            Sink::Memory(captured) => {
                let mut captured = captured.lock().expect("the capture lock is never poisoned");
                if to_stderr {
                    captured.stderr.push_str(text);
                } else {
                    captured.stdout.push_str(text);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn everything_printed_is_redacted() {
        let (mut printer, captured) = Printer::memory();
        printer.set_redactor(Redactor::new([Secret::new("sbx_secret_key_1")]));
        printer.data("key sbx_secret_key_1\n");
        printer.error("bad sbx_secret_key_1");
        let captured = captured.lock().unwrap();
        assert_eq!(captured.stdout, "key ********\n");
        assert_eq!(captured.stderr, "error: bad ********\n");
    }

    #[test]
    fn a_bar_stays_below_what_is_printed_and_goes_away() {
        let (mut printer, captured) = Printer::memory();
        printer.bars = true;
        {
            let progress = printer.progress("applying");
            printer.status("planned");
            progress.update(1, 4);
            printer.status("trimrx/1: created iScale offer 1001");
            progress.update(4, 4);
        }
        let stderr = captured.lock().unwrap().stderr.clone();
        let expected = [
            "planned\n",
            "\r\x1b[2Kapplying [######------------------] 1/4",
            "\r\x1b[2Ktrimrx/1: created iScale offer 1001\n",
            "\r\x1b[2Kapplying [######------------------] 1/4",
            "\r\x1b[2Kapplying [########################] 4/4",
            "\r\x1b[2K",
        ]
        .concat();
        assert_eq!(stderr, expected);
    }

    #[test]
    fn no_bar_is_drawn_off_a_terminal() {
        let (printer, captured) = Printer::memory();
        let progress = printer.progress("applying");
        progress.update(2, 4);
        printer.status("done");
        drop(progress);
        assert_eq!(captured.lock().unwrap().stderr, "done\n");
    }
}

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
        Self {
            stdout_color: decide(std::io::stdout().is_terminal()),
            stderr_color: decide(std::io::stderr().is_terminal()),
            redactor: Redactor::default(),
            sink: Sink::Std,
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
        };
        (printer, captured)
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
}

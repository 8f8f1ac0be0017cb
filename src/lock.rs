//! One apply per workspace: an exclusive OS file lock on `state/offersync.lock`, with the
//! holder written inside so a refused run can say who holds it.
//!
//! The OS releases the lock when its process dies, however it dies, so a lock left by a
//! dead process is never an obstacle: the next run takes it and warns, naming the holder
//! the file still describes.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const LOCK_FILE: &str = "offersync.lock";

/// Who holds (or held) the lock.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub started: String,
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {}, `{}` started {}",
            self.pid, self.host, self.command, self.started
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the workspace is locked by another run ({})", holder.as_ref().map_or_else(|| "holder unknown".to_owned(), ToString::to_string))]
    Held { holder: Option<Holder> },
    #[error("cannot lock `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock; released on drop.
#[derive(Debug)]
pub struct WorkspaceLock {
    file: File,
    /// A holder whose lock this run took over because its process was gone.
    pub taken_over: Option<Holder>,
}

impl WorkspaceLock {
    /// Takes the lock of the state folder `state_dir` for `command`, or says who has it.
    pub fn acquire(state_dir: &Path, command: &str) -> Result<Self, LockError> {
        let path = state_dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    holder: read_holder(&mut file),
                });
            }
            Err(TryLockError::Error(error)) => return Err(io(error)),
        }
        // A holder still described in the file never released it: its process is gone.
        let taken_over = read_holder(&mut file);
        let holder = Holder {
            pid: std::process::id(),
            host: hostname(),
            started: crate::timefmt::utc_now(),
            command: command.to_owned(),
        };
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut text = serde_json::to_string(&holder).expect("a holder serializes");
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Self { file, taken_over })
    }
}

impl Drop for WorkspaceLock {
    fn drop(&mut self) {
        // Empty means "released cleanly"; the OS lock goes with the file handle.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown host".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_named() {
        let dir = tempfile::tempdir().unwrap();
        let first = WorkspaceLock::acquire(dir.path(), "apply").unwrap();
        assert!(first.taken_over.is_none());
        let error = WorkspaceLock::acquire(dir.path(), "apply").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("locked"), "{text}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        let again = WorkspaceLock::acquire(dir.path(), "apply").unwrap();
        assert!(
            again.taken_over.is_none(),
            "a clean release leaves no holder"
        );
    }

    #[test]
    fn a_dead_holder_is_taken_over_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let dead = Holder {
            pid: 999_999,
            host: "ci-runner".into(),
            started: "2026-01-01T00:00:00Z".into(),
            command: "apply".into(),
        };
        std::fs::write(
            dir.path().join(LOCK_FILE),
            serde_json::to_string(&dead).unwrap(),
        )
        .unwrap();
        let lock = WorkspaceLock::acquire(dir.path(), "apply").unwrap();
        assert_eq!(lock.taken_over, Some(dead));
    }
}

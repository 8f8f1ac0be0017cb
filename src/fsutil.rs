//! Small file-system helpers: atomic writes and stable JSON.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

/// Writes a file so that readers see either the old or the new content, never a torn
/// one: temp file in the same folder, fsync, rename, fsync the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A bare file name's parent is the empty path, which names no folder.
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => (parent, name),
        (_, Some(name)) => (Path::new("."), name),
        _ => return Err(std::io::Error::other("not a file path")),
    };
    write_atomic_in(dir, &[(Path::new(name), bytes)])
}

/// [`write_atomic`] for several files of one folder (named relative to it): each is
/// written and synced, then all are renamed into place and the folder is synced once.
/// A crash leaves each file old or new; which ones are new is not atomic as a whole.
pub fn write_atomic_in(dir: &Path, files: &[(&Path, &[u8])]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        temp.write_all(bytes)?;
        temp.as_file().sync_all()?;
        written.push((temp, dir.join(name)));
    }
    for (temp, path) in written {
        temp.persist(path).map_err(|error| error.error)?;
    }
    // The renames are durable only once the folder is synced.
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Runs blocking file work (writes that fsync) on tokio's blocking threads, so that the
/// requests of a run keep going meanwhile; a panic in `work` is the caller's.
pub async fn off_the_workers<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(error) => match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("blocking file work was cancelled: {error}"),
        },
    }
}

/// JSON meant for Git: keys sorted, two-space indent, trailing newline.
pub fn stable_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Going through `Value` sorts every map (serde_json's map is a BTreeMap here).
    let value = serde_json::to_value(value).expect("state values serialize");
    let mut bytes = serde_json::to_vec_pretty(&value).expect("a Value serializes");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_file_name_is_written_in_the_current_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/plan.json");
        write_atomic(&path, b"{}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        // The current folder is the process's, so test the folder rule directly.
        assert!(
            Path::new("plan.json")
                .parent()
                .is_some_and(|p| p.as_os_str().is_empty())
        );
    }

    #[test]
    fn several_files_of_a_folder_are_written_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("state/net/1");
        write_atomic_in(
            &folder,
            &[(Path::new("a.json"), b"a"), (Path::new("b.txt"), b"b")],
        )
        .unwrap();
        write_atomic_in(&folder, &[(Path::new("a.json"), b"a2")]).unwrap();
        assert_eq!(std::fs::read(folder.join("a.json")).unwrap(), b"a2");
        assert_eq!(std::fs::read(folder.join("b.txt")).unwrap(), b"b");
        let leftovers = std::fs::read_dir(&folder).unwrap().count();
        assert_eq!(leftovers, 2, "no temp files are left behind");
    }

    #[test]
    fn stable_json_sorts_keys() {
        #[derive(Serialize)]
        struct S {
            zeta: u8,
            alpha: u8,
        }
        let text = String::from_utf8(stable_json(&S { zeta: 1, alpha: 2 })).unwrap();
        assert_eq!(text, "{\n  \"alpha\": 2,\n  \"zeta\": 1\n}\n");
    }

    #[test]
    fn write_atomic_creates_parents_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp files are left behind");
    }
}

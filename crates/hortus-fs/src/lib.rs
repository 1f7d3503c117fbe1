//! File output shared by the `hortus` binary and the lab, under one rule:
//! hortus replaces only what is its own. A path it writes must be missing or
//! a regular file; a symlink, device node, FIFO, socket or directory there is
//! refused before anything is written (as root, `-o /dev/null` would
//! otherwise replace the system's `/dev/null`).
//!
//! - [`write_atomic`]: one file, through a temporary file and a rename.
//! - [`create_exclusive`]: one new file that must not exist yet (keys).
//! - [`generations`]: several outputs switched by one rename (`render -o DIR`).

pub mod generations;
mod target;

pub use target::check_target;
use target::remove_stale_temporaries;

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` atomically, the new file having `mode`
/// permissions from the start (a private key is never world-readable, even
/// briefly). On error the temporary file is removed and `path` is untouched.
/// Temporaries left by killed earlier runs are removed first.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    check_target(path)?;
    replace_atomic(path, contents, mode)
}

/// [`write_atomic`] without the target check: replaces whatever entry is
/// at `path` (the caller has checked it is its own).
pub(crate) fn replace_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let (dir, tmp_prefix) = temporary_prefix(path)?;
    remove_stale_temporaries(&dir, &tmp_prefix);
    let tmp = dir.join(format!("{tmp_prefix}{}", std::process::id()));
    let write = || -> io::Result<()> {
        write_new(&tmp, contents, mode)?;
        fs::rename(&tmp, path)
    };
    write().inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// Creates `path` with `contents` and `mode`, failing with
/// [`io::ErrorKind::AlreadyExists`] if anything is there, even when another
/// process creates it at the same moment (the complete file is hard-linked
/// into place, which never replaces). Readers never see it half-written.
pub fn create_exclusive(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let (dir, tmp_prefix) = temporary_prefix(path)?;
    remove_stale_temporaries(&dir, &tmp_prefix);
    let tmp = dir.join(format!("{tmp_prefix}{}", std::process::id()));
    let result = write_new(&tmp, contents, mode).and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    result
}

/// Creates the temporary `path` with `contents`, synced to disk, first
/// removing a leftover of a crashed run with the same pid.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let _ = fs::remove_file(path);
    create_file(path, contents, mode)
}

/// Creates `path`, which must not exist, with `contents`, synced to disk.
pub(crate) fn create_file(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// The directory of `path` and the name prefix of its temporaries
/// (`.NAME.tmp`, followed by the writer's pid).
fn temporary_prefix(path: &Path) -> io::Result<(PathBuf, String)> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    Ok((dir.to_path_buf(), format!(".{}.tmp", name.to_string_lossy())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_with_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }

    #[test]
    fn failure_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("file"), "x").unwrap();
        assert!(write_atomic(&dir.path().join("file/inner"), b"x", 0o644).is_err());
        assert!(write_atomic(&dir.path().join("missing/inner"), b"x", 0o644).is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_symlinks_fifos_devices_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, "precious").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = write_atomic(&link, b"x", 0o644).unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"precious");
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert!(write_atomic(&fifo, b"x", 0o644).unwrap_err().to_string().contains("is a FIFO"));
        let err = write_atomic(Path::new("/dev/null"), b"x", 0o644).unwrap_err();
        assert!(err.to_string().contains("is a character device"), "{err}");
        assert!(write_atomic(dir.path(), b"x", 0o644).unwrap_err().to_string().contains("is a directory"));
    }

    #[test]
    fn stale_temporaries_of_dead_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // pid 0 is never a live writer; pid 1 (init) always is.
        let stale = dir.path().join(".out.tmp0");
        fs::write(&stale, "killed run").unwrap();
        let live = dir.path().join(".out.tmp1");
        fs::write(&live, "running").unwrap();
        write_atomic(&dir.path().join("out"), b"x", 0o644).unwrap();
        assert!(!stale.exists());
        assert!(live.exists());
    }

    #[test]
    fn exclusive_creation_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.key");
        create_exclusive(&path, b"first", 0o600).unwrap();
        let err = create_exclusive(&path, b"second", 0o600).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }
}

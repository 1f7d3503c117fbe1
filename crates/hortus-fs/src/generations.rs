//! Several outputs in one directory, switched all at once.
//!
//! `DIR/NAME` (e.g. `bird.conf`, `networkd`) is a symlink to
//! `.hortus-render/current/NAME`; `.hortus-render/current` is a symlink to a
//! generation directory `.hortus-render/gen-PID-NANOS` holding every output.
//! A new render writes and syncs a whole new generation (outputs it does not
//! render are hard-linked from the current one), then switches `current` with
//! one rename. A reader resolving `DIR/NAME` sees the old or the new
//! generation, never a mix; a failure or kill before the rename leaves the
//! old one in place, and its leftovers are removed by the next run.
//!
//! The first run over outputs that are plain files or directories (an older
//! hortus, or by hand) replaces each by its symlink, one rename per entry.

use crate::target::{pid_alive, remove_stale_temporaries};
use crate::{create_file, replace_atomic};
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// The directory in DIR holding generations.
pub const STORE: &str = ".hortus-render";
const CURRENT: &str = "current";
const GEN_PREFIX: &str = "gen-";

/// One output: a path relative to DIR (`bird.conf`, `networkd/10-x.network`).
pub struct Output {
    /// Relative path; its first component is the entry of DIR it belongs to.
    pub path: PathBuf,
    /// File contents (mode 0644).
    pub contents: Vec<u8>,
}

/// What a publish changed besides writing the outputs.
#[derive(Debug, Default)]
pub struct Published {
    /// Files (relative to DIR) that were there before and are not in the new
    /// outputs, e.g. `networkd/20-wg-gone.netdev`: removed.
    pub removed: Vec<PathBuf>,
}

/// Why a publish was refused.
fn refuse(path: &Path, why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, format!("{}: {why}", path.display()))
}

/// Publishes `outputs` into `dir` as one new generation (see the module doc).
/// `owned_dirs` are directory entries this render is responsible for even
/// when it has no file for them (a host that runs no forwarder any more):
/// their old files are removed, and the entry with them. Entries of DIR
/// that are neither rendered nor owned are left alone.
pub fn publish(dir: &Path, outputs: &[Output], owned_dirs: &[&str]) -> io::Result<Published> {
    let owned = owned_dirs.iter().map(PathBuf::from);
    let entries: BTreeSet<PathBuf> = outputs.iter().map(|o| top_level(&o.path)).chain(owned.clone()).collect();
    let dirs: BTreeSet<PathBuf> =
        outputs.iter().filter(|o| o.path.components().count() > 1).map(|o| top_level(&o.path)).chain(owned).collect();
    fs::create_dir_all(dir)?;
    for entry in &entries {
        check_entry(dir, entry, dirs.contains(entry))?;
    }
    let store = dir.join(STORE);
    match fs::symlink_metadata(&store) {
        Ok(meta) if !meta.is_dir() => return Err(refuse(&store, "exists and is not a directory")),
        Ok(_) => {}
        Err(_) => fs::create_dir(&store)?,
    }
    let current_gen = fs::read_link(store.join(CURRENT)).ok();
    remove_stale(&store, current_gen.as_deref());
    let name = format!("{GEN_PREFIX}{}-{}", std::process::id(), nanos());
    let new_gen = store.join(&name);
    let result = write_generation(&new_gen, outputs, &entries, current_gen.as_ref().map(|g| store.join(g)));
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&new_gen);
        return Err(e);
    }
    // The switch: one rename.
    let tmp_link = store.join(format!("{CURRENT}.tmp{}", std::process::id()));
    let _ = fs::remove_file(&tmp_link);
    symlink(&name, &tmp_link)?;
    fs::rename(&tmp_link, store.join(CURRENT))?;
    fs::File::open(&store)?.sync_all()?;
    let mut published = Published::default();
    let old_gen = current_gen.map(|g| store.join(g));
    for entry in &entries {
        link_entry(dir, entry, &new_gen, old_gen.as_deref(), &mut published)?;
    }
    if let Some(old) = old_gen {
        let _ = fs::remove_dir_all(old);
    }
    published.removed.sort();
    Ok(published)
}

/// Points `DIR/entry` at the current generation (replacing a plain file or
/// directory of an earlier layout) and records the files no longer there.
fn link_entry(
    dir: &Path,
    entry: &Path,
    new_gen: &Path,
    old_gen: Option<&Path>,
    published: &mut Published,
) -> io::Result<()> {
    let target = dir.join(entry);
    let link_text = Path::new(STORE).join(CURRENT).join(entry);
    let before: Option<PathBuf> = match fs::symlink_metadata(&target) {
        Ok(meta) if meta.file_type().is_symlink() => old_gen.map(|g| g.join(entry)),
        Ok(_) => Some(target.clone()),
        Err(_) => None,
    };
    let old_files = before.as_deref().map(files_under).unwrap_or_default();
    let new_files = files_under(&new_gen.join(entry));
    for file in old_files.difference(&new_files) {
        published.removed.push(entry.join(file));
    }
    if fs::symlink_metadata(new_gen.join(entry)).is_err() {
        // An owned entry with nothing in it now: gone, link or old directory.
        return match fs::symlink_metadata(&target) {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(&target),
            Ok(_) => fs::remove_file(&target),
            Err(_) => Ok(()),
        };
    }
    if fs::read_link(&target).ok().as_deref() == Some(link_text.as_path()) {
        return Ok(());
    }
    let tmp = dir.join(STORE).join(format!("link.tmp{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    symlink(&link_text, &tmp)?;
    if fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
        // A directory of an earlier layout: moved aside, then deleted.
        let aside = dir.join(STORE).join(format!("old.tmp{}", std::process::id()));
        fs::rename(&target, &aside)?;
        fs::rename(&tmp, &target)?;
        let _ = fs::remove_dir_all(aside);
    } else {
        fs::rename(&tmp, &target)?;
    }
    Ok(())
}

/// Writes a single top-level file `DIR/NAME` (e.g. `bird.conf` alone) as a
/// plain regular file, atomically: one file needs no generation. Replaces a
/// regular file or hortus' own symlink into a generation; refuses anything
/// else, like [`publish`].
pub fn publish_file(dir: &Path, output: &Output) -> io::Result<()> {
    if output.path.components().count() != 1 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a top-level file"));
    }
    fs::create_dir_all(dir)?;
    check_entry(dir, &output.path, false)?;
    replace_atomic(&dir.join(&output.path), &output.contents, 0o644)
}

/// Refuses an entry of DIR that is not ours to replace.
fn check_entry(dir: &Path, entry: &Path, want_dir: bool) -> io::Result<()> {
    let target = dir.join(entry);
    let Ok(meta) = fs::symlink_metadata(&target) else { return Ok(()) };
    let kind = meta.file_type();
    if kind.is_symlink() {
        let ours = Path::new(STORE).join(CURRENT).join(entry);
        if fs::read_link(&target).ok().as_deref() == Some(ours.as_path()) {
            return Ok(());
        }
        return Err(refuse(&target, "is a symbolic link hortus did not make; hortus replaces only its own outputs"));
    }
    if want_dir && !kind.is_dir() {
        return Err(refuse(&target, "exists and is not a directory"));
    }
    if !want_dir && !kind.is_file() {
        crate::check_target(&target).map_err(|e| refuse(&target, &e.to_string()))?;
    }
    Ok(())
}

/// Writes the new generation: the outputs, plus hard links of the current
/// generation's entries that are not rendered now. Everything synced.
fn write_generation(
    new_gen: &Path,
    outputs: &[Output],
    entries: &BTreeSet<PathBuf>,
    current: Option<PathBuf>,
) -> io::Result<()> {
    fs::create_dir(new_gen)?;
    let mut made = BTreeSet::new();
    for output in outputs {
        let path = new_gen.join(&output.path);
        if let Some(parent) = path.parent().filter(|p| made.insert(p.to_path_buf())) {
            fs::create_dir_all(parent)?;
        }
        create_file(&path, &output.contents, 0o644)?;
    }
    if let Some(current) = current.filter(|c| c.is_dir()) {
        for kept in fs::read_dir(&current)?.flatten() {
            let name = PathBuf::from(kept.file_name());
            if !entries.contains(&name) {
                link_tree(&kept.path(), &new_gen.join(&name))?;
            }
        }
    }
    sync_tree(new_gen)
}

/// Hard-links the files of `from` (a file or a directory tree) to `to`.
fn link_tree(from: &Path, to: &Path) -> io::Result<()> {
    if fs::symlink_metadata(from)?.is_dir() {
        fs::create_dir(to)?;
        for entry in fs::read_dir(from)?.flatten() {
            link_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::hard_link(from, to)
    }
}

/// Syncs every directory of the tree (files were synced when written).
fn sync_tree(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)?.flatten() {
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        }
    }
    fs::File::open(dir)?.sync_all()
}

/// Relative paths of the files under `path` (`path` itself when a file).
fn files_under(path: &Path) -> BTreeSet<PathBuf> {
    fn walk(root: &Path, path: &Path, out: &mut BTreeSet<PathBuf>) {
        match fs::read_dir(path) {
            Ok(entries) => entries.flatten().for_each(|e| walk(root, &e.path(), out)),
            Err(_) => {
                if path.exists() && path != root {
                    out.insert(path.strip_prefix(root).unwrap_or(path).to_path_buf());
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        walk(path, path, &mut out);
    }
    out
}

/// Removes generations and temporaries of killed runs: every `gen-PID-*`
/// other than `current` whose PID is not alive, and stale link temporaries.
fn remove_stale(store: &Path, current: Option<&Path>) {
    if let Ok(entries) = fs::read_dir(store) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(GEN_PREFIX)) else { continue };
            let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()).unwrap_or(0);
            if current != Some(Path::new(&name)) && pid != std::process::id() && !pid_alive(pid) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    for prefix in [format!("{CURRENT}.tmp"), "link.tmp".into(), "old.tmp".into()] {
        remove_stale_temporaries(store, &prefix);
    }
}

fn top_level(path: &Path) -> PathBuf {
    path.components().next().map(|c| PathBuf::from(c.as_os_str())).unwrap_or_default()
}

fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(path: &str, contents: &str) -> Output {
        Output { path: path.into(), contents: contents.as_bytes().to_vec() }
    }

    fn read(dir: &Path, path: &str) -> String {
        fs::read_to_string(dir.join(path)).unwrap()
    }

    #[test]
    fn an_owned_directory_with_no_file_now_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        publish(d, &[out("bird.conf", "b1"), out("forwarder/p.service", "p")], &[]).unwrap();
        let published = publish(d, &[out("bird.conf", "b2")], &["forwarder"]).unwrap();
        assert_eq!(published.removed, [PathBuf::from("forwarder/p.service")]);
        assert!(fs::symlink_metadata(d.join("forwarder")).is_err(), "no link left to a missing directory");
        assert_eq!(read(d, "bird.conf"), "b2");
        // Not owned: kept, even when not rendered.
        publish(d, &[out("forwarder/p.service", "p")], &[]).unwrap();
        publish(d, &[out("bird.conf", "b3")], &[]).unwrap();
        assert_eq!(read(d, "forwarder/p.service"), "p");
    }

    #[test]
    fn switches_all_outputs_at_once_and_reports_removed_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        publish(d, &[out("bird.conf", "b1"), out("networkd/a.netdev", "a1"), out("networkd/gone.netdev", "g")], &[])
            .unwrap();
        assert_eq!(read(d, "bird.conf"), "b1");
        assert!(fs::symlink_metadata(d.join("networkd")).unwrap().file_type().is_symlink());
        fs::write(d.join("networkd/by-hand.network"), "x").unwrap();
        let published = publish(d, &[out("bird.conf", "b2"), out("networkd/a.netdev", "a2")], &[]).unwrap();
        assert_eq!(published.removed, [PathBuf::from("networkd/by-hand.network"), "networkd/gone.netdev".into()]);
        assert_eq!((read(d, "bird.conf"), read(d, "networkd/a.netdev")), ("b2".into(), "a2".into()));
        // Rendering one entry keeps the others (hard-linked into the new generation).
        publish(d, &[out("bird.conf", "b3")], &[]).unwrap();
        assert_eq!((read(d, "bird.conf"), read(d, "networkd/a.netdev")), ("b3".into(), "a2".into()));
        let gens: Vec<_> = fs::read_dir(d.join(STORE)).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(gens.len(), 2, "one generation and `current`: {gens:?}");
    }

    #[test]
    fn a_failed_render_leaves_the_old_generation_and_no_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        publish(d, &[out("bird.conf", "old"), out("networkd/a.netdev", "old")], &[]).unwrap();
        let before: Vec<_> = fs::read_dir(d.join(STORE)).unwrap().flatten().map(|e| e.file_name()).collect();
        // `bird.conf/x` cannot be written once `bird.conf` is a file.
        assert!(publish(d, &[out("bird.conf", "new"), out("bird.conf/x", "new")], &[]).is_err());
        assert_eq!((read(d, "bird.conf"), read(d, "networkd/a.netdev")), ("old".into(), "old".into()));
        let after: Vec<_> = fs::read_dir(d.join(STORE)).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn generations_of_killed_runs_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        publish(d, &[out("bird.conf", "1")], &[]).unwrap();
        // A run killed before its switch: pid 0 is never alive.
        fs::create_dir_all(d.join(STORE).join("gen-0-1/networkd")).unwrap();
        fs::write(d.join(STORE).join("link.tmp0"), "").unwrap();
        publish(d, &[out("bird.conf", "2")], &[]).unwrap();
        let mut names: Vec<_> =
            fs::read_dir(d.join(STORE)).unwrap().flatten().map(|e| e.file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0] == "current" && names[1].starts_with("gen-"), "{names:?}");
    }

    #[test]
    fn migrates_plain_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("bird.conf"), "plain").unwrap();
        fs::create_dir(d.join("networkd")).unwrap();
        fs::write(d.join("networkd/stale.netdev"), "x").unwrap();
        let published = publish(d, &[out("bird.conf", "new"), out("networkd/a.netdev", "a")], &[]).unwrap();
        assert_eq!(published.removed, [PathBuf::from("networkd/stale.netdev")]);
        assert_eq!(read(d, "bird.conf"), "new");
        assert!(!d.join("networkd/stale.netdev").exists());
    }

    #[test]
    fn a_single_file_is_a_plain_file_and_may_replace_our_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        publish_file(d, &out("bird.conf", "plain")).unwrap();
        assert!(fs::symlink_metadata(d.join("bird.conf")).unwrap().is_file());
        publish(d, &[out("bird.conf", "gen"), out("networkd/a", "a")], &[]).unwrap();
        publish_file(d, &out("bird.conf", "plain again")).unwrap();
        assert!(fs::symlink_metadata(d.join("bird.conf")).unwrap().is_file());
        assert_eq!(read(d, "bird.conf"), "plain again");
        assert_eq!(read(d, "networkd/a"), "a");
        symlink("/etc/passwd", d.join("babeld.conf")).unwrap();
        assert!(publish_file(d, &out("babeld.conf", "x")).is_err());
    }

    #[test]
    fn refuses_what_is_not_ours() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let precious = d.join("precious");
        fs::write(&precious, "keep").unwrap();
        symlink(&precious, d.join("bird.conf")).unwrap();
        let err = publish(d, &[out("bird.conf", "x")], &[]).unwrap_err();
        assert!(err.to_string().contains("symbolic link hortus did not make"), "{err}");
        fs::remove_file(d.join("bird.conf")).unwrap();
        fs::write(d.join("networkd"), "a file").unwrap();
        let err = publish(d, &[out("networkd/a", "x")], &[]).unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
        assert_eq!(fs::read_to_string(&precious).unwrap(), "keep");
        assert!(!d.join(STORE).exists(), "nothing written");
    }
}

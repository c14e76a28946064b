//! Atomic file writes (SPEC defect 21): write a temp file in the same directory, fsync it,
//! rename it over the target. A reader sees the old content or the new, never half.

use std::io::Write;
use std::path::Path;

/// Writes `data` to `path` atomically and durably (fsync before the rename), creating the
/// parent directory if needed. For state that must survive a power loss.
///
/// # Errors
///
/// The directory cannot be created, or the temp file cannot be written, synced or renamed
/// over `path` (the temp file is then removed).
pub fn write(path: &Path, data: &[u8]) -> std::io::Result<()> {
    write_impl(path, data, true)
}

/// Like [`write()`] without the fsync: still all-or-nothing for readers and after a crash of
/// this process, for files rewritten at every start (kickoff files).
///
/// # Errors
///
/// The directory cannot be created, or the temp file cannot be written or renamed over
/// `path` (the temp file is then removed).
pub fn write_fast(path: &Path, data: &[u8]) -> std::io::Result<()> {
    write_impl(path, data, false)
}

fn write_impl(path: &Path, data: &[u8], sync: bool) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    // Through the `File`: the temp file's own `Write` adds its random name to the error.
    tmp.as_file().write_all(data)?;
    if sync {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/phase-idx");
        super::write(&p, b"1").unwrap();
        super::write(&p, b"2").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "2");
        assert_eq!(std::fs::read_dir(d.path().join("sub")).unwrap().count(), 1);
    }
}

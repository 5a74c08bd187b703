//! A virtual key's signature counter kept in a file, so that the same key (same seed) used by one
//! process after another keeps counting up: a server that checks counters (as AA does) accepts the
//! second process's signatures instead of rejecting them as replays.
//!
//! The file is small text, rewritten atomically (temporary file in the same directory, flushed to
//! disk, renamed over the old one) after every signature:
//!
//! ```text
//! aa-virtual-key state 1
//! key 6a1f…  (identifies the seed, without revealing it)
//! counter 3
//! ```
//!
//! Before each signature the file is read again and the larger of its counter and the key's own is
//! used, so processes that take turns with one file (a CI job's steps) never go backwards. Processes
//! signing at the same instant with one file are not supported: give each its own seed and file.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// First line of every state file: the format and its version.
const MAGIC: &str = "aa-virtual-key state 1";

/// Where one virtual key keeps its counter.
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
    /// Hex id of the key material (see `KeyMaterial::state_id`): a file of another seed is refused.
    key_id: String,
}

impl StateFile {
    /// Opens the state at `path` for the key `key_id` and returns it with the counter it holds:
    /// 0 for a file that does not exist yet, which is then created (so an unwritable place fails
    /// here, not at the first signature).
    pub(crate) fn open(path: PathBuf, key_id: String) -> io::Result<(StateFile, u32)> {
        let state = StateFile { path, key_id };
        match state.read()? {
            Some(counter) => Ok((state, counter)),
            None => {
                state.save(0)?;
                Ok((state, 0))
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The counter in the file; `None` when there is no file.
    pub(crate) fn read(&self) -> io::Result<Option<u32>> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(self.error(format!("cannot read it: {error}"))),
        };
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(self.error(format!("not a virtual key state file (its first line is not {MAGIC:?})")));
        }
        let (mut key_id, mut counter) = (None, None);
        for line in lines {
            match line.split_once(' ') {
                Some(("key", value)) if key_id.is_none() => key_id = Some(value),
                Some(("counter", value)) if counter.is_none() => {
                    counter = Some(value.parse::<u32>().map_err(|_| {
                        self.error(format!("its counter {value:?} is not a number from 0 to {}", u32::MAX))
                    })?)
                }
                _ => return Err(self.error(format!("unexpected line {line:?}"))),
            }
        }
        match (key_id, counter) {
            (Some(id), Some(counter)) if id == self.key_id => Ok(Some(counter)),
            (Some(_), Some(_)) => Err(self.error(
                "it belongs to the virtual key of another seed: use one state file per seed".to_owned(),
            )),
            _ => Err(self.error("it lacks its key or counter line".to_owned())),
        }
    }

    /// Replaces the file with one holding `counter`, atomically: readers see the old or the new
    /// file, never a partial one, even if this process dies mid-write.
    pub(crate) fn save(&self, counter: u32) -> io::Result<()> {
        let mut text = String::new();
        let _ = write!(text, "{MAGIC}\nkey {}\ncounter {counter}\n", self.key_id);
        let file_name = self.path.file_name().ok_or_else(|| self.error("it names no file".to_owned()))?;
        let mut temporary = self.path.clone();
        temporary.set_file_name(format!(".{}.{}.tmp", file_name.to_string_lossy(), std::process::id()));
        let written = fs::File::create(&temporary)
            .and_then(|mut file| file.write_all(text.as_bytes()).and_then(|()| file.sync_all()))
            .and_then(|()| fs::rename(&temporary, &self.path));
        written.map_err(|error| {
            let _ = fs::remove_file(&temporary);
            self.error(format!("cannot write it: {error}"))
        })
    }

    fn error(&self, problem: String) -> io::Error {
        io::Error::other(format!("virtual key state file {}: {problem}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("aa-virtual-key-state-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir.join("key.state")
    }

    #[test]
    fn a_new_file_starts_at_zero_and_keeps_what_was_saved() {
        let path = scratch("roundtrip");
        let (state, counter) = StateFile::open(path.clone(), "ab12".into()).unwrap();
        assert_eq!(counter, 0);
        assert!(path.is_file(), "opening creates the file");
        state.save(41).unwrap();
        let (_, counter) = StateFile::open(path.clone(), "ab12".into()).unwrap();
        assert_eq!(counter, 41);
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn another_seeds_file_and_garbage_are_refused_with_the_path() {
        let path = scratch("refused");
        StateFile::open(path.clone(), "ab12".into()).unwrap().0.save(3).unwrap();
        let error = StateFile::open(path.clone(), "cd34".into()).unwrap_err().to_string();
        assert!(error.contains("another seed") && error.contains(&path.display().to_string()), "{error}");
        for garbage in [
            "",
            "hello\n",
            "aa-virtual-key state 1\nkey ab12\ncounter -1\n",
            "aa-virtual-key state 1\nkey ab12\n",
        ] {
            fs::write(&path, garbage).unwrap();
            let error = StateFile::open(path.clone(), "ab12".into()).unwrap_err().to_string();
            assert!(error.starts_with("virtual key state file"), "{garbage:?}: {error}");
        }
    }

    #[test]
    fn an_unwritable_place_fails_when_opened() {
        let path = scratch("unwritable").with_file_name("no-such-dir").join("key.state");
        let error = StateFile::open(path, "ab12".into()).unwrap_err().to_string();
        assert!(error.contains("cannot write it"), "{error}");
    }
}

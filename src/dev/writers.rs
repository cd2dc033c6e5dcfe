//! Files that `connect dev` or the add-on write, which must never restart
//! the add-on: `connect dev`'s own redirected output (`connect dev >
//! out.txt`), and any file a process of the add-on has open for writing
//! when its change arrives (a log, a cache, a database). Read from /proc
//! (Linux); elsewhere nothing is found and the restart-loop guard is the
//! only protection.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A file's identity: device and inode.
pub type FileId = (u64, u64);

/// The files this process's stdout and stderr are redirected to (empty
/// for terminals and pipes).
pub fn own_outputs() -> HashSet<FileId> {
    let mut ids = HashSet::new();
    for fd in [1, 2] {
        if let Ok(meta) = std::fs::metadata(format!("/proc/self/fd/{fd}"))
            && meta.is_file()
        {
            ids.insert((meta.dev(), meta.ino()));
        }
    }
    ids
}

/// The identity of the file at `path`, if it exists.
pub fn id_of(path: &Path) -> Option<FileId> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| (m.dev(), m.ino()))
}

/// The files open for writing by any process in one of the process groups
/// `groups` (the add-on's generations and whatever they started).
pub fn written_by(groups: &[i32]) -> HashSet<FileId> {
    let mut ids = HashSet::new();
    if groups.is_empty() {
        return ids;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return ids;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let in_group = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| process_group(&stat))
            .is_some_and(|pgrp| groups.contains(&pgrp));
        if in_group {
            open_for_writing(pid, &mut ids);
        }
    }
    ids
}

/// The process group field of a `/proc/PID/stat` line (pure): `pid (comm)
/// state ppid pgrp ...`, where comm may hold spaces and parentheses.
pub fn process_group(stat: &str) -> Option<i32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// Whether the `flags:` line of a `/proc/PID/fdinfo/FD` file (octal) says
/// the descriptor is open for writing (pure).
pub fn writes(fdinfo: &str) -> bool {
    fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        // O_ACCMODE: 1 is O_WRONLY, 2 is O_RDWR.
        .is_some_and(|flags| flags & 3 != 0)
}

fn open_for_writing(pid: u32, ids: &mut HashSet<FileId>) {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return;
    };
    for fd in fds.flatten() {
        let name = fd.file_name();
        let Some(name) = name.to_str() else { continue };
        let Ok(meta) = std::fs::metadata(fd.path()) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let info =
            std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{name}")).unwrap_or_default();
        if writes(&info) {
            ids.insert((meta.dev(), meta.ino()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_process_group_even_when_the_name_has_spaces() {
        assert_eq!(process_group("42 (node) S 1 42 42 0 -1"), Some(42));
        assert_eq!(process_group("43 (my (odd) app) S 42 41 41 0"), Some(41));
        assert_eq!(process_group("garbage"), None);
    }

    #[test]
    fn tells_writers_from_readers() {
        assert!(writes("pos:\t0\nflags:\t0100001\nmnt_id:\t25\n"));
        assert!(writes("pos:\t0\nflags:\t02\n"));
        assert!(!writes("pos:\t0\nflags:\t0100000\n"));
        assert!(!writes(""));
    }

    #[test]
    fn finds_a_file_this_process_has_open_for_writing() {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("exec 3>>{}; echo started; sleep 30", log.display()))
            .stdout(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        let group = child.id() as i32;
        let found = written_by(&[group]);
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.contains(&id_of(&log).unwrap()), "{found:?}");
        assert!(written_by(&[]).is_empty());
    }
}

//! Restart loops: a file that changes again with every start of the add-on,
//! with nobody editing it, is written by something the add-on runs (a log
//! it opens and closes, a cache it rebuilds). The guard names the file
//! after a few such restarts in a row, and the dev loop stops restarting
//! for it.
//!
//! A change counts as the add-on's own doing when it came while the add-on
//! was starting, or within [`STRONG_MARGIN`] of it answering: faster than
//! any person. [`RESTARTS`] of those in a row, for the same file, make a
//! loop. A change within [`QUICK`] of the add-on answering is only
//! suspicious (a person may save again quickly); [`QUICK_RESTARTS`] in a
//! row make a loop too.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A change this soon after the add-on answered is faster than a person.
pub const STRONG_MARGIN: Duration = Duration::from_millis(50);
/// This many restarts in a row for changes the add-on made itself are a loop.
pub const RESTARTS: usize = 4;
/// A change this soon after the add-on answered is suspicious.
pub const QUICK: Duration = Duration::from_secs(1);
/// This many suspicious restarts in a row, for the same file, are a loop.
pub const QUICK_RESTARTS: usize = 8;

/// When the generation that serves was started and when it answered.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Its process started.
    pub started: Instant,
    /// It answered.
    pub ready: Instant,
}

#[derive(Debug, Default)]
struct Streak {
    common: BTreeSet<PathBuf>,
    count: usize,
}

impl Streak {
    /// Adds a restart for `files`; false when nothing is common any more.
    fn add(&mut self, files: &BTreeSet<PathBuf>) {
        if self.count == 0 {
            self.common = files.clone();
        } else {
            self.common = self.common.intersection(files).cloned().collect();
        }
        if self.common.is_empty() {
            self.common = files.clone();
            self.count = 1;
        } else {
            self.count += 1;
        }
    }

    fn clear(&mut self) {
        self.common.clear();
        self.count = 0;
    }
}

/// Watches restarts for loops (pure: time is passed in).
#[derive(Debug, Default)]
pub struct LoopGuard {
    own: Streak,
    quick: Streak,
}

impl LoopGuard {
    /// A burst of changes to `files`, the first at `first_change`, is about
    /// to restart the add-on whose generation ran in `window`. Returns the
    /// files to stop restarting for when this completes a loop.
    pub fn restart(
        &mut self,
        files: &BTreeSet<PathBuf>,
        first_change: Instant,
        window: Option<Window>,
    ) -> Option<BTreeSet<PathBuf>> {
        let Some(w) = window.filter(|_| !files.is_empty()) else {
            self.reset();
            return None;
        };
        let own = first_change >= w.started && first_change <= w.ready + STRONG_MARGIN;
        let quick = first_change >= w.started && first_change < w.ready + QUICK;
        if own {
            self.own.add(files);
        } else {
            self.own.clear();
        }
        if quick {
            self.quick.add(files);
        } else {
            self.quick.clear();
        }
        let looping = if self.own.count >= RESTARTS {
            Some(self.own.common.clone())
        } else if self.quick.count >= QUICK_RESTARTS {
            Some(self.quick.common.clone())
        } else {
            None
        };
        if looping.is_some() {
            self.reset();
        }
        looping
    }

    /// Forgets the streaks (a restart by hand).
    pub fn reset(&mut self) {
        self.own.clear();
        self.quick.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str]) -> BTreeSet<PathBuf> {
        names.iter().map(PathBuf::from).collect()
    }

    fn window(t: Instant, at_secs: u64) -> Window {
        let started = t + Duration::from_secs(at_secs);
        Window {
            started,
            ready: started + Duration::from_millis(300),
        }
    }

    #[test]
    fn a_file_written_while_the_add_on_starts_is_a_loop_after_three_restarts() {
        let mut guard = LoopGuard::default();
        let t = Instant::now();
        let mut verdicts = Vec::new();
        for i in 0..RESTARTS as u64 {
            let w = window(t, i * 2);
            verdicts.push(guard.restart(
                &files(&["/p/cache.txt"]),
                w.started + Duration::from_millis(5),
                Some(w),
            ));
        }
        assert_eq!(verdicts[..RESTARTS - 1], vec![None; RESTARTS - 1]);
        assert_eq!(verdicts[RESTARTS - 1], Some(files(&["/p/cache.txt"])));
    }

    #[test]
    fn a_person_saving_again_a_while_after_each_restart_is_no_loop() {
        let mut guard = LoopGuard::default();
        let t = Instant::now();
        for i in 0..20u64 {
            let w = window(t, i * 10);
            assert_eq!(
                guard.restart(
                    &files(&["/p/reply.html"]),
                    w.ready + Duration::from_secs(3),
                    Some(w)
                ),
                None
            );
        }
    }

    #[test]
    fn quick_saves_of_the_same_file_are_a_loop_only_after_many_restarts() {
        let mut guard = LoopGuard::default();
        let t = Instant::now();
        let mut first_loop = None;
        for i in 0..10u64 {
            let w = window(t, i * 2);
            if guard
                .restart(
                    &files(&["/p/app.log"]),
                    w.ready + Duration::from_millis(400),
                    Some(w),
                )
                .is_some()
            {
                first_loop.get_or_insert(i);
            }
        }
        assert_eq!(first_loop, Some(QUICK_RESTARTS as u64 - 1));
    }

    #[test]
    fn different_files_each_time_are_no_loop() {
        let mut guard = LoopGuard::default();
        let t = Instant::now();
        for i in 0..10u64 {
            let w = window(t, i);
            let name = format!("/p/file{i}.html");
            assert_eq!(
                guard.restart(
                    &files(&[&name]),
                    w.started + Duration::from_millis(1),
                    Some(w)
                ),
                None
            );
        }
    }

    #[test]
    fn only_the_file_common_to_every_restart_is_named() {
        let mut guard = LoopGuard::default();
        let t = Instant::now();
        let bursts = [
            vec!["/p/a.log", "/p/b.html"],
            vec!["/p/a.log"],
            vec!["/p/a.log", "/p/c.html"],
            vec!["/p/a.log", "/p/b.html"],
        ];
        let mut verdict = None;
        for (i, burst) in bursts.iter().enumerate() {
            let w = window(t, i as u64);
            verdict = guard.restart(&files(burst), w.started + Duration::from_millis(5), Some(w));
        }
        assert_eq!(verdict, Some(files(&["/p/a.log"])));
    }
}

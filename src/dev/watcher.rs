//! Watching the project with notify (inotify on Linux), event-driven.
//!
//! Debouncing is done by the dev loop with a timer armed by the events
//! themselves: a restart waits until no relevant change has arrived for
//! `--delay`. A ticking debouncer (notify-debouncer-full) wakes up every
//! few milliseconds even when nothing happens; with the short tick a fast
//! edit-to-serving time needs, that cost about 1% CPU on an idle machine
//! here, against none for this design.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use notify::{Event, RecursiveMode, Watcher as _};

use super::filter::{self, Rules};

/// A running watcher; dropping it stops watching.
pub type Watcher = notify::RecommendedWatcher;

/// Watches `roots` recursively, handing each change (reads already
/// dropped) to `handler` with the moment it arrived.
pub fn start(
    roots: &[PathBuf],
    mut handler: impl FnMut(notify::Result<(Event, Instant)>) + Send + 'static,
) -> anyhow::Result<Watcher> {
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        let now = Instant::now();
        match event {
            // The add-on opening and reading files must not even wake the loop.
            Ok(e) if !filter::is_change(&e.kind) => {}
            Ok(e) => handler(Ok((e, now))),
            Err(err) => handler(Err(err)),
        }
    })
    .context("cannot start the file watcher")?;
    for root in roots {
        watcher
            .watch(root, RecursiveMode::Recursive)
            .with_context(|| {
                format!(
                    "cannot watch {}; check it exists, or raise fs.inotify.max_user_watches if the tree is large",
                    root.display()
                )
            })?;
    }
    Ok(watcher)
}

/// What one event means for the add-on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The file whose change needs a restart, if any.
    pub trigger: Option<PathBuf>,
    /// Whether a `.gitignore` changed (rebuild the rules first).
    pub gitignore_changed: bool,
}

/// Classifies an event that arrived at `at`. A change from before `since`
/// (the current child's start) is already reflected in what it serves: a
/// burst that straddled the last restart must not cause another one.
pub fn classify(
    rules: &Rules,
    event: &Event,
    at: Instant,
    since: Option<Instant>,
    is_dir: impl Fn(&Path) -> bool,
) -> Verdict {
    let mut verdict = Verdict {
        gitignore_changed: filter::is_change(&event.kind)
            && filter::touches_gitignore(&event.paths),
        trigger: None,
    };
    if since.is_none_or(|s| at >= s) {
        verdict.trigger = filter::trigger(rules, &event.kind, &event.paths, is_dir).cloned();
    }
    verdict
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ignore::gitignore::Gitignore;
    use notify::event::{EventKind, ModifyKind};

    use super::*;

    fn event(paths: &[&str]) -> Event {
        paths
            .iter()
            .fold(Event::new(EventKind::Modify(ModifyKind::Any)), |e, p| {
                e.add_path(p.into())
            })
    }

    fn rules() -> Rules {
        Rules::new(Path::new("/p"), None, &[], &[], Gitignore::empty()).expect("rules")
    }

    #[test]
    fn an_event_names_its_first_relevant_file() {
        let now = Instant::now();
        let e = event(&["/p/.git/index", "/p/config.json"]);
        let v = classify(&rules(), &e, now, None, |_| false);
        assert_eq!(v.trigger, Some(PathBuf::from("/p/config.json")));
    }

    #[test]
    fn changes_older_than_the_running_child_do_not_restart_it_again() {
        let before = Instant::now();
        let started = before + Duration::from_millis(5);
        let e = event(&["/p/config.json"]);
        assert_eq!(
            classify(&rules(), &e, before, Some(started), |_| false).trigger,
            None
        );
        let later = started + Duration::from_millis(1);
        assert!(
            classify(&rules(), &e, later, Some(started), |_| false)
                .trigger
                .is_some()
        );
    }

    #[test]
    fn a_gitignore_edit_is_flagged_even_when_it_is_old() {
        let now = Instant::now();
        let e = event(&["/p/.gitignore"]);
        let v = classify(
            &rules(),
            &e,
            now,
            Some(now + Duration::from_secs(1)),
            |_| false,
        );
        assert!(v.gitignore_changed);
    }
}

//! Watching the project: notify-debouncer-full with a short timeout and an
//! even shorter tick, so an editor's save (write, rename, chmod) arrives as
//! one batch a few milliseconds later.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use notify::RecursiveMode;
use notify_debouncer_full::{
    DebounceEventResult, DebouncedEvent, Debouncer, RecommendedCache, new_debouncer,
};

use super::filter::{self, Rules};

/// A running watcher; dropping it stops watching.
pub type Watcher = Debouncer<notify::RecommendedWatcher, RecommendedCache>;

/// How often the debouncer looks for events old enough to hand out.
/// A quarter of the delay, at least 1 ms: short enough to add little to
/// the edit-to-serving time, long enough to sleep between looks.
pub fn tick_for(delay: Duration) -> Duration {
    (delay / 4).max(Duration::from_millis(1)).min(delay)
}

/// Watches `roots` recursively, handing each debounced batch to `handler`.
pub fn start(
    roots: &[PathBuf],
    delay: Duration,
    handler: impl FnMut(DebounceEventResult) + Send + 'static,
) -> anyhow::Result<Watcher> {
    let mut debouncer = new_debouncer(delay, Some(tick_for(delay)), handler)
        .context("cannot start the file watcher")?;
    for root in roots {
        debouncer
            .watch(root, RecursiveMode::Recursive)
            .with_context(|| {
                format!(
                    "cannot watch {}; check it exists, or raise fs.inotify.max_user_watches if the tree is large",
                    root.display()
                )
            })?;
    }
    Ok(debouncer)
}

/// What a batch of events means for the add-on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The first file whose change needs a restart, if any.
    pub trigger: Option<PathBuf>,
    /// Whether a `.gitignore` changed (rebuild the rules first).
    pub gitignore_changed: bool,
}

/// Classifies a batch. Events from before `since` (the current child's
/// start) are already reflected in what it serves: a burst that straddled
/// the last restart must not cause another one.
pub fn classify(
    rules: &Rules,
    events: &[DebouncedEvent],
    since: Option<Instant>,
    is_dir: impl Fn(&Path) -> bool,
) -> Verdict {
    let mut verdict = Verdict::default();
    for ev in events {
        if filter::is_change(&ev.event.kind) && filter::touches_gitignore(&ev.event.paths) {
            verdict.gitignore_changed = true;
        }
        if verdict.trigger.is_some() || since.is_some_and(|s| ev.time < s) {
            continue;
        }
        if let Some(path) = filter::trigger(rules, &ev.event.kind, &ev.event.paths, &is_dir) {
            verdict.trigger = Some(path.clone());
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use ignore::gitignore::Gitignore;
    use notify::event::{EventKind, ModifyKind};

    use super::*;

    fn event(path: &str, time: Instant) -> DebouncedEvent {
        DebouncedEvent::new(
            notify::Event::new(EventKind::Modify(ModifyKind::Any)).add_path(path.into()),
            time,
        )
    }

    fn rules() -> Rules {
        Rules::new(Path::new("/p"), None, &[], &[], Gitignore::empty()).expect("rules")
    }

    #[test]
    fn the_tick_is_a_quarter_of_the_delay_but_at_least_a_millisecond() {
        assert_eq!(
            tick_for(Duration::from_millis(20)),
            Duration::from_millis(5)
        );
        assert_eq!(tick_for(Duration::from_millis(2)), Duration::from_millis(1));
        assert_eq!(
            tick_for(Duration::from_micros(500)),
            Duration::from_micros(500)
        );
    }

    #[test]
    fn a_batch_names_its_first_relevant_file() {
        let now = Instant::now();
        let events = [event("/p/.git/index", now), event("/p/config.json", now)];
        let v = classify(&rules(), &events, None, |_| false);
        assert_eq!(v.trigger, Some(PathBuf::from("/p/config.json")));
    }

    #[test]
    fn changes_older_than_the_running_child_do_not_restart_it_again() {
        let before = Instant::now();
        let started = before + Duration::from_millis(5);
        let events = [event("/p/config.json", before)];
        assert_eq!(
            classify(&rules(), &events, Some(started), |_| false).trigger,
            None
        );
        let later = [event("/p/config.json", started + Duration::from_millis(1))];
        assert!(
            classify(&rules(), &later, Some(started), |_| false)
                .trigger
                .is_some()
        );
    }

    #[test]
    fn a_gitignore_edit_is_flagged_even_when_it_is_old() {
        let now = Instant::now();
        let events = [event("/p/.gitignore", now)];
        let v = classify(
            &rules(),
            &events,
            Some(now + Duration::from_secs(1)),
            |_| false,
        );
        assert!(v.gitignore_changed);
    }
}

//! `connect store list`.

use serde_json::json;

use super::inventory::{self, Installation, State};
use super::{Opened, json_line};

/// Prints the installations; fails (exit 1) when a record cannot be read,
/// after listing every one that can.
pub async fn run(opened: &Opened, json: bool) -> anyhow::Result<()> {
    let all = inventory::read(&opened.store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if json {
        for i in &all {
            println!("{}", json_line("installation", row_json(i)));
        }
        println!("{}", json_line("summary", summary_json(opened, &all)));
    } else if all.is_empty() {
        println!("no installations in {}", opened.shown);
    } else {
        print!("{}", table(&all));
        println!("{}", summary(opened, &all));
    }
    let unreadable: Vec<&Installation> = all
        .iter()
        .filter(|i| matches!(i.state, State::Unreadable(_)))
        .collect();
    if let Some(first) = unreadable.first() {
        let State::Unreadable(why) = &first.state else {
            unreachable!("filtered above")
        };
        let place = first
            .places
            .connect
            .as_deref()
            .or(first.places.legacy.as_deref())
            .unwrap_or("?");
        anyhow::bail!(
            "{} record(s) cannot be read; the first is {} ({place}): {why}; remove it with `connect store remove {}`",
            unreadable.len(),
            first.oauth_id,
            first.oauth_id
        );
    }
    Ok(())
}

/// `2026-12-08 10:15 UTC`, or `-` when unknown.
pub fn when(secs: u64) -> String {
    if secs == 0 {
        return "-".into();
    }
    jiff::Timestamp::from_second(i64::try_from(secs).unwrap_or(0))
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| "-".into())
}

fn state_text(i: &Installation) -> String {
    match &i.state {
        State::Ok if i.not_yet_converted => "ok (taken over at its next webhook)".into(),
        State::Ok => "ok".into(),
        State::Stale(since) => format!("stale: HipChat refused its credentials {}", when(*since)),
        State::Unreadable(why) => format!("unreadable: {why}"),
    }
}

/// The table people read (pure).
pub fn table(all: &[Installation]) -> String {
    let rows: Vec<[String; 6]> = all
        .iter()
        .map(|i| {
            let t = i.tenant.as_ref();
            [
                i.oauth_id.clone(),
                t.map_or("-".into(), |t| match &t.group_name {
                    Some(name) => format!("{} {name}", t.group_id),
                    None => t.group_id.to_string(),
                }),
                t.and_then(|t| t.room_id)
                    .map_or("all".into(), |r| r.to_string()),
                t.map_or("-".into(), |t| when(t.installed_at)),
                i.places.summary().to_owned(),
                state_text(i),
            ]
        })
        .collect();
    let header = ["OAUTH ID", "GROUP", "ROOM", "INSTALLED", "WHERE", "STATE"];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| -> String {
        let mut out = String::new();
        for (n, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if n + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&header);
    for row in &rows {
        out.push_str(&line(&row.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    out
}

fn counts(all: &[Installation]) -> (usize, usize, usize, usize) {
    let stale = all
        .iter()
        .filter(|i| matches!(i.state, State::Stale(_)))
        .count();
    let unreadable = all
        .iter()
        .filter(|i| matches!(i.state, State::Unreadable(_)))
        .count();
    let waiting = all
        .iter()
        .filter(|i| i.not_yet_converted && i.state == State::Ok)
        .count();
    (all.len() - stale - unreadable, stale, unreadable, waiting)
}

fn summary(opened: &Opened, all: &[Installation]) -> String {
    let (ok, stale, unreadable, waiting) = counts(all);
    let mut text = format!(
        "{} installation{} in {}: {ok} served",
        all.len(),
        if all.len() == 1 { "" } else { "s" },
        opened.shown
    );
    if waiting > 0 {
        text.push_str(&format!(
            " ({waiting} known only to the 2015 layout, taken over at their next webhook)"
        ));
    }
    if stale > 0 {
        text.push_str(&format!(
            ", {stale} stale (uninstalled in HipChat; `connect store remove` removes them)"
        ));
    }
    if unreadable > 0 {
        text.push_str(&format!(", {unreadable} unreadable"));
    }
    text
}

fn row_json(i: &Installation) -> serde_json::Value {
    let t = i.tenant.as_ref();
    let (state, extra) = match &i.state {
        State::Ok => ("ok", json!({})),
        State::Stale(since) => ("stale", json!({"staleSince": since})),
        State::Unreadable(why) => ("unreadable", json!({"reason": why})),
    };
    let mut row = json!({
        "oauthId": i.oauth_id,
        "groupId": t.map(|t| t.group_id),
        "groupName": t.and_then(|t| t.group_name.clone()),
        "roomId": t.and_then(|t| t.room_id),
        "installedAt": t.map(|t| t.installed_at).filter(|s| *s > 0),
        "where": i.places,
        "state": state,
        "convertedYet": !i.not_yet_converted,
    });
    if let (Some(row), Some(extra)) = (row.as_object_mut(), extra.as_object()) {
        row.extend(extra.clone());
    }
    row
}

fn summary_json(opened: &Opened, all: &[Installation]) -> serde_json::Value {
    let (ok, stale, unreadable, waiting) = counts(all);
    json!({
        "store": opened.shown,
        "installations": all.len(),
        "served": ok,
        "stale": stale,
        "unreadable": unreadable,
        "only2015": waiting,
    })
}

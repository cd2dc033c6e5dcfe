//! The emulator as a library, as `connect dev --emulate` runs it: bound on
//! a free port, serving in the background, taking an add-on's changed
//! descriptor in place.

mod support;

use connect::emulate::{Emulator, EmulatorOptions, Reinstalled};
use support::emulate::addon::ScriptedAddon;
use support::emulate::http_client;

#[tokio::test]
async fn runs_in_process_and_updates_an_addon_from_the_same_descriptor_url_in_place() {
    let addon = ScriptedAddon::start().await;
    let emulator = Emulator::bind(
        "127.0.0.1:0".parse().expect("an address"),
        EmulatorOptions::default(),
    )
    .await
    .expect("the emulator binds");
    let running = emulator.spawn();
    let descriptor = addon.descriptor_url("good");

    let first = running
        .reinstall(&descriptor, Some(1))
        .await
        .expect("installed");
    let Reinstalled::Installed(first) = first else {
        panic!("the first install is an install: {first:?}");
    };
    let second = running
        .reinstall(&descriptor, Some(1))
        .await
        .expect("updated");
    let Reinstalled::Updated(second) = second else {
        panic!("the same add-on is updated in place: {second:?}");
    };
    assert_eq!(
        first.oauth_id, second.oauth_id,
        "an update in place keeps the credentials"
    );
    assert_eq!(
        addon.installs().len(),
        1,
        "the add-on was not installed twice"
    );
    assert!(addon.uninstalls().is_empty());

    // Another room is another installation: the old one goes.
    let third = running
        .reinstall(&descriptor, Some(2))
        .await
        .expect("reinstalled");
    let Reinstalled::Installed(third) = third else {
        panic!("a new room is a new install: {third:?}");
    };
    let installs = running.host().installations();
    assert_eq!(installs.len(), 1, "the old installation was left behind");
    assert_eq!(installs[0].oauth_id, third.oauth_id);
    assert_eq!(addon.uninstalls(), vec![first.oauth_id.clone()]);
    assert_eq!(
        addon.installs()[1]["capabilitiesUrl"],
        running.capabilities_url()
    );

    // The page is served while running, and not after stop.
    let page = running.chat_url().to_owned();
    let response = http_client().get(&page).send().await.expect("the page");
    assert_eq!(response.status(), 200);
    running.stop().await.expect("a clean stop");
    assert!(
        http_client().get(&page).send().await.is_err(),
        "still serving after stop"
    );
}

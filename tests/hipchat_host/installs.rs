//! Installing and uninstalling add-ons, as HipChat did.

use connect::hipchat::host::{Author, HostOptions, InstallError, User};
use serde_json::json;

use super::addon::{self, Behaviour, Reply};
use super::{access_token, installed, notify, start_host};

#[tokio::test]
async fn installs_by_posting_hipchats_body_to_the_callback() {
    let (host, addon, id) = installed(HostOptions::default(), Reply::Empty).await;
    let seen = addon.seen();
    assert_eq!(seen.installs.len(), 1);
    let body = &seen.installs[0];
    let mut keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "capabilitiesUrl",
            "groupId",
            "oauthId",
            "oauthSecret",
            "roomId"
        ]
    );
    assert_eq!(body["oauthId"], json!(id));
    assert_eq!(body["roomId"], 1);
    assert_eq!(body["capabilitiesUrl"], json!(host.capabilities_url()));
    let secret = body["oauthSecret"].as_str().expect("secret");
    assert_eq!(secret.len(), 40);
    assert_eq!(
        seen.install_token_status,
        [200],
        "credentials work during the install"
    );
    let installation = host.host().installation(&id).expect("recorded");
    assert_eq!(installation.key, "com.example.blogsearch");
    assert_eq!(installation.webhooks.len(), 1);
}

#[tokio::test]
async fn uninstall_revokes_the_credentials_before_calling_delete() {
    let (host, addon, id) = installed(HostOptions::default(), Reply::Empty).await;
    let gone = host.host().uninstall(&id).await.expect("uninstall");
    assert_eq!(gone.status, Some(204));
    assert_eq!(addon.seen().uninstalls, [(id.clone(), 401)]);
    assert!(host.host().installations().is_empty());
    assert!(host.host().credentials(&id).is_none());
    let none = host
        .host()
        .post_message(1, &User::default(), "/hascode x")
        .await
        .expect("post");
    assert!(none.deliveries.is_empty());
    assert!(host.host().uninstall(&id).await.is_err());
}

#[tokio::test]
async fn reports_bad_descriptors_and_refused_installs_clearly() {
    let host = start_host(HostOptions::default()).await;
    let missing = addon::start(
        |_, d| {
            d["capabilities"]["installable"]
                .as_object_mut()
                .expect("object")
                .remove("callbackUrl");
        },
        Behaviour::default(),
    )
    .await;
    let err = host
        .host()
        .install(&missing.descriptor_url(), Some(1))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("capabilities.installable.callbackUrl"),
        "{err}"
    );

    let not_there = format!("{}/nope.json", missing.base);
    let err = host.host().install(&not_there, Some(1)).await.unwrap_err();
    assert!(
        matches!(err, InstallError::DescriptorStatus { status: 404, .. }),
        "{err}"
    );

    let refusing = addon::start(
        |_, _| {},
        Behaviour {
            install_status: 500,
            ..Behaviour::default()
        },
    )
    .await;
    let err = host
        .host()
        .install(&refusing.descriptor_url(), Some(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, InstallError::Rejected { status: 500, .. }),
        "{err}"
    );
    assert!(host.host().installations().is_empty());
    let id = refusing.seen().installs[0]["oauthId"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(
        host.host().credentials(&id).is_none(),
        "credentials of a refused install are dropped"
    );

    let global_only = addon::start(
        |_, d| d["capabilities"]["installable"]["allowRoom"] = json!(false),
        Behaviour::default(),
    )
    .await;
    let err = host
        .host()
        .install(&global_only.descriptor_url(), Some(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, InstallError::RoomInstallNotAllowed(_)),
        "{err}"
    );
    assert!(
        host.host()
            .install(&global_only.descriptor_url(), None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn names_a_notice_posted_while_answering_the_install_after_the_add_on() {
    let host = start_host(HostOptions::default()).await;
    let addon = addon::start(
        |_, _| {},
        Behaviour {
            announce: true,
            ..Behaviour::default()
        },
    )
    .await;
    host.host()
        .install(&addon.descriptor_url(), Some(1))
        .await
        .expect("install");
    let notices = host.host().room_messages(1);
    assert_eq!(notices.len(), 1);
    assert!(
        matches!(&notices[0].author, Author::AddOn { key, name, .. }
            if key == "com.example.blogsearch" && name == "Blog"),
        "{:?}",
        notices[0].author
    );
}

#[tokio::test]
async fn refuses_a_second_install_of_the_same_add_on_in_the_same_room_even_while_the_first_runs() {
    let host = start_host(HostOptions::default()).await;
    let addon = addon::start(|_, _| {}, Behaviour::default()).await;
    let url = addon.descriptor_url();
    let (first, second) = tokio::join!(
        host.host().install(&url, Some(1)),
        host.host().install(&url, Some(1))
    );
    let results = [first, second];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(InstallError::AlreadyInstalled { .. })))
    );
    assert_eq!(host.host().installations().len(), 1);
    assert!(
        host.host().install(&url, None).await.is_ok(),
        "a global install is another one"
    );
}

#[tokio::test]
async fn a_global_install_hears_every_room_and_may_notify_any() {
    let host = start_host(HostOptions::default()).await;
    let addon = addon::start(|_, _| {}, Behaviour::default()).await;
    let install = host
        .host()
        .install(&addon.descriptor_url(), None)
        .await
        .expect("install");
    assert_eq!(install.room_id, None);
    assert!(
        addon.seen().installs[0].get("roomId").is_none(),
        "no roomId for a global install"
    );
    let posted = host
        .host()
        .post_message(7, &User::default(), "/hascode rust")
        .await
        .expect("post");
    assert_eq!(posted.deliveries.len(), 1);
    let (body, _, verified) = &addon.seen().webhooks[0];
    assert_eq!(body["item"]["room"]["id"], 7);
    assert_eq!(verified.as_ref().ok().and_then(|c| c.room_id()), Some(7));
    assert!(
        host.host().rooms().iter().any(|r| r.id == 7),
        "the room was created"
    );
    let token = access_token(&host, &install.oauth_id).await;
    for room in [1, 7] {
        let answer = notify(&host, room, &token, json!({"message": "hi"})).await;
        assert_eq!(answer.status(), 204, "room {room}");
    }
}

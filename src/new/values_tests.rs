use std::path::Path;

use super::*;
use crate::new::validate::suggest_name;

fn defaults() -> Defaults {
    Defaults::with_description("Search the blog")
}

fn given(name: &str) -> Given {
    Given {
        name: Some(name.to_owned()),
        ..Given::default()
    }
}

#[test]
fn accepts_ordinary_project_names() {
    for name in [
        "blogsearch",
        "blog-search",
        "blog_search",
        "Blog2",
        "2fa-bot",
        "my.addon",
    ] {
        assert_eq!(check_name(name), Ok(()), "{name}");
    }
}

#[test]
fn rejects_names_that_make_poor_directories_and_says_why() {
    let cases = [
        ("blog search", "a space"),
        ("café", "`é`"),
        ("-blog", "start with a letter or digit"),
        (".hidden", "start with a letter or digit"),
        ("blog.", "must not end with `.`"),
        ("nul", "reserved on Windows"),
        ("Con.txt", "reserved on Windows"),
    ];
    for (name, expected) in cases {
        let err = check_name(name).expect_err(name);
        assert!(err.contains(expected), "{name}: {err}");
    }
    let long = "a".repeat(51);
    assert!(check_name(&long).unwrap_err().contains("at most 50"));
}

#[test]
fn suggests_a_valid_name_without_applying_it() {
    assert_eq!(suggest_name("Blog Search!"), Some("blog-search".to_owned()));
    assert!(
        check_name("Blog Search!")
            .unwrap_err()
            .contains("`blog-search`")
    );
    assert_eq!(suggest_name("!!!"), None);
}

#[test]
fn accepts_reverse_dns_keys() {
    for key in [
        "com.example.blogsearch",
        "io.acme.blog-search",
        "org.x_y.a1",
        "de.a",
    ] {
        assert_eq!(check_key(key), Ok(()), "{key}");
    }
}

#[test]
fn rejects_keys_that_are_not_lowercase_reverse_dns() {
    let cases = [
        ("blogsearch", "not reverse-DNS"),
        ("com..blog", "invalid part ``"),
        ("com.example.Blog", "`com.example.blog` would do"),
        ("com.example.-blog", "invalid part `-blog`"),
        ("com.example.blog search", "invalid part"),
        ("", "empty"),
    ];
    for (key, expected) in cases {
        let err = check_key(key).expect_err(key);
        assert!(err.contains(expected), "{key}: {err}");
    }
    let long = format!("com.example.{}", "a".repeat(60));
    assert!(check_key(&long).unwrap_err().contains("at most 64"));
}

#[test]
fn derives_the_default_key_only_from_a_name_that_is_already_a_key_part() {
    assert_eq!(
        default_key("blogsearch"),
        Some("com.example.blogsearch".to_owned())
    );
    assert_eq!(default_key("BlogSearch"), None);
    assert_eq!(default_key("my.addon"), None);
    assert_eq!(
        suggest_key("BlogSearch"),
        Some("com.example.blogsearch".to_owned())
    );
    assert_eq!(
        suggest_key("my.addon"),
        Some("com.example.my-addon".to_owned())
    );
}

#[test]
fn checks_descriptions_vendors_and_urls() {
    assert!(
        check_description("two\nlines")
            .unwrap_err()
            .contains("one line")
    );
    assert!(check_description("  ").unwrap_err().contains("empty"));
    assert!(check_vendor("").unwrap_err().contains("empty"));
    assert_eq!(check_vendor_url("https://acme.example/about"), Ok(()));
    assert!(
        check_vendor_url("ftp://acme.example")
            .unwrap_err()
            .contains("`ftp:`")
    );
    assert!(
        check_vendor_url("acme.example")
            .unwrap_err()
            .contains("not a URL")
    );
}

#[test]
fn parses_defines_and_names_the_valid_keys_for_an_unknown_one() {
    assert_eq!(
        parse_define("vendor_url=https://a.example"),
        Ok(Define {
            field: Field::VendorUrl,
            value: "https://a.example".to_owned()
        })
    );
    assert_eq!(
        parse_define("description=a=b").map(|d| d.value),
        Ok("a=b".to_owned())
    );
    let err = parse_define("colour=red").unwrap_err();
    assert!(
        err.contains("unknown key `colour`") && err.contains("vendor-url"),
        "{err}"
    );
    assert!(parse_define("key").unwrap_err().contains("KEY=VALUE"));
}

#[test]
fn a_value_given_twice_differently_is_refused() {
    let with_key = Given {
        key: Some("com.a.b".into()),
        ..Given::default()
    };
    let same = Define {
        field: Field::Key,
        value: "com.a.b".into(),
    };
    assert!(with_key.clone().merge(std::slice::from_ref(&same)).is_ok());
    let other = Define {
        field: Field::Key,
        value: "com.c.d".into(),
    };
    let err = with_key.merge(&[other]).unwrap_err();
    assert!(err.to_string().contains("given twice"), "{err}");
}

#[test]
fn a_path_names_the_project_after_its_last_part() {
    let cwd = Path::new("/home/me/work");
    let location = locate("addons/blogsearch/", cwd).unwrap();
    assert_eq!(location.name, "blogsearch");
    assert_eq!(location.dir, Path::new("addons/blogsearch/"));
    assert_eq!(locate("/tmp/blog", cwd).unwrap().name, "blog");
    assert!(
        locate("..", cwd)
            .unwrap_err()
            .contains("does not end in a directory name")
    );
    assert!(
        locate("/", cwd)
            .unwrap_err()
            .contains("does not end in a directory name")
    );
}

#[test]
fn dot_names_the_project_after_the_current_directory() {
    let location = locate(".", Path::new("/home/me/blogsearch")).unwrap();
    assert_eq!(location.name, "blogsearch");
    assert!(location.is_current_dir);
    let err = locate(".", Path::new("/home/me/My Add-on")).unwrap_err();
    assert!(
        err.contains("current directory") && err.contains("a space"),
        "{err}"
    );
}

#[test]
fn resolving_without_asking_uses_defaults_and_requires_a_key_it_cannot_derive() {
    let cwd = Path::new("/tmp");
    let (_, values) = resolve(&given("blogsearch"), &defaults(), cwd).unwrap();
    assert_eq!(values.key, "com.example.blogsearch");
    assert_eq!(values.description, "Search the blog");
    assert_eq!(values.vendor_url, "https://example.com");

    let err = resolve(&given("BlogSearch"), &defaults(), cwd).unwrap_err();
    assert!(
        err.to_string().contains("--key com.example.blogsearch"),
        "{err}"
    );
    assert!(err.chain().any(|e| e.is::<crate::error::UsageError>()));

    let err = resolve(&Given::default(), &defaults(), cwd).unwrap_err();
    assert!(err.to_string().contains("NAME is missing"), "{err}");
}

mod properties {
    use std::path::{Component, Path};

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_valid_name_is_exactly_one_ordinary_path_component(name in "[a-zA-Z0-9._/\\\\ -]{0,20}") {
            if check_name(&name).is_ok() {
                let components: Vec<_> = Path::new(&name).components().collect();
                prop_assert_eq!(components, vec![Component::Normal(name.as_ref())]);
            }
        }

        #[test]
        fn every_suggestion_is_a_valid_name(raw in "\\PC{0,80}") {
            if let Some(suggestion) = suggest_name(&raw) {
                prop_assert_eq!(check_name(&suggestion), Ok(()));
            }
        }

        #[test]
        fn every_derived_or_suggested_key_is_valid(name in "[A-Za-z0-9._ -]{1,60}") {
            for key in [default_key(&name), suggest_key(&name)].into_iter().flatten() {
                prop_assert_eq!(check_key(&key), Ok(()));
            }
        }
    }
}

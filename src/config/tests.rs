use super::*;
use crate::config::SearchSource;
use serde_json::json;

const FILE: &str = "/proj/config.json";

fn load(
    config: Value,
    stage: Option<&str>,
    env: &[(&str, &str)],
) -> Result<ProjectConfig, ConfigError> {
    ProjectConfig::from_text(
        &config.to_string(),
        Path::new(FILE),
        Path::new("/proj"),
        stage,
        &Env::from_pairs(env.iter().copied()),
    )
}

fn template() -> Value {
    json!({
        "development": {
            "localBaseUrl": "http://localhost:$port",
            "port": 3000,
            "store": {"adapter": "jugglingdb", "type": "sqlite3", "database": "store.db"},
            "maxTokenAge": 86400,
            "searchHost": "https://www.hascode.com",
            "searchBasePath": "/wp-content/byTag.php?tag=",
            "maxResultsDisplayed": 10
        },
        "production": {
            "localBaseUrl": "$AC_LOCAL_BASE_URL",
            "port": "$PORT",
            "store": {"adapter": "redis", "url": "$REDIS_URL"},
            "whitelist": ["*.hipchat.com"],
            "maxTokenAge": 900,
            "searchHost": "www.hascode.com",
            "maxResultsDisplayed": 10
        }
    })
}

fn message(err: ConfigError) -> String {
    err.to_string()
}

#[test]
fn development_is_the_default_stage_and_resolves_port_into_the_base_url() {
    let c = load(template(), None, &[]).unwrap();
    assert_eq!(c.stage, "development");
    assert_eq!(c.port, 3000);
    assert_eq!(c.local_base_url.as_str(), "http://localhost:3000/");
    assert_eq!(c.base_path, "");
    assert_eq!(
        c.store,
        StoreConfig::Embedded {
            path: "/proj/store.db".into()
        }
    );
    assert!(!c.enforce_whitelist);
    assert_eq!(c.max_token_age, Duration::from_secs(86400));
    assert_eq!(
        c.search.source,
        SearchSource::ByTag {
            template: "https://www.hascode.com/wp-content/byTag.php?tag={tag}".into()
        }
    );
    assert_eq!(
        c.search.tag_url.as_deref(),
        Some("https://www.hascode.com/tag/{tag}/")
    );
}

#[test]
fn node_env_selects_the_stage_and_variables_come_from_the_environment() {
    let env = [
        ("NODE_ENV", "production"),
        ("PORT", "8080"),
        ("AC_LOCAL_BASE_URL", "https://addon.example.com/blog/"),
        ("REDIS_URL", "redis://127.0.0.1:6380/1"),
    ];
    let c = load(template(), None, &env).unwrap();
    assert_eq!(c.stage, "production");
    assert_eq!(c.port, 8080);
    assert_eq!(c.local_base_url.as_str(), "https://addon.example.com/blog");
    assert_eq!(c.base_path, "/blog");
    assert_eq!(
        c.store,
        StoreConfig::Redis {
            url: "redis://127.0.0.1:6380/1".into(),
            tls: TlsOptions::default(),
        }
    );
    assert!(c.enforce_whitelist && c.whitelist.allows("api.hipchat.com"));
    assert_eq!(
        c.search.home_page().as_deref(),
        Some("https://www.hascode.com")
    );
}

#[test]
fn the_stage_flag_wins_over_node_env() {
    let c = load(
        template(),
        Some("development"),
        &[("NODE_ENV", "production")],
    )
    .unwrap();
    assert_eq!(c.stage, "development");
}

#[test]
fn a_stage_the_file_lacks_is_an_error_listing_the_stages_it_has() {
    let err = message(load(template(), None, &[("NODE_ENV", "prod")]).unwrap_err());
    assert!(
        err.contains("no `prod` stage") && err.contains("NODE_ENV=prod"),
        "{err}"
    );
    assert!(err.contains("`development`, `production`"), "{err}");
    assert!(err.contains("Did you mean `production`?"), "{err}");
    let err = message(load(template(), Some("staging"), &[]).unwrap_err());
    assert!(
        err.contains("--env staging") && err.contains("add a `staging` stage"),
        "{err}"
    );
}

#[test]
fn without_node_env_the_development_stage_is_required() {
    let config = json!({"production": template()["production"].clone(), "product": "hipchat"});
    let err = message(load(config, None, &[]).unwrap_err());
    assert!(
        err.contains("no `development` stage") && err.contains("NODE_ENV is not set"),
        "{err}"
    );
    // `product` is the old template's top-level key, not a stage.
    assert!(err.contains("stages it has: `production`."), "{err}");
}

#[test]
fn environment_overrides_replace_file_values() {
    let env = [
        ("PORT", "4000"),
        ("AC_HOST_WHITELIST", "127.0.0.1, *.example.org"),
    ];
    let c = load(template(), None, &env).unwrap();
    assert_eq!(c.port, 4000);
    assert_eq!(c.local_base_url.as_str(), "http://localhost:4000/");
    assert!(c.enforce_whitelist);
    assert!(c.whitelist.allows("127.0.0.1") && c.whitelist.allows("hc.example.org"));
    assert!(!c.whitelist.allows("10.0.0.1"));
}

#[test]
fn a_missing_variable_names_the_key_the_variable_and_the_file() {
    let err = message(load(template(), Some("production"), &[("PORT", "80")]).unwrap_err());
    assert!(err.contains(FILE) && err.contains("production"), "{err}");
    assert!(
        err.contains("localBaseUrl") && err.contains("AC_LOCAL_BASE_URL"),
        "{err}"
    );
}

#[test]
fn a_bad_port_is_an_error_naming_the_key() {
    let mut config = template();
    config["development"]["port"] = json!("http");
    let err = message(load(config, None, &[]).unwrap_err());
    assert!(
        err.contains("`port`") && err.contains("from 1 to 65535") && err.contains("\"http\""),
        "{err}"
    );
    let mut config = template();
    config["development"]["port"] = json!(-1);
    let err = message(load(config, None, &[]).unwrap_err());
    assert!(
        err.contains("from 1 to 65535") && err.contains("got -1"),
        "{err}"
    );
    let err = message(load(template(), None, &[("PORT", "99999")]).unwrap_err());
    assert!(err.contains("PORT") && err.contains("99999"), "{err}");
}

#[test]
fn production_without_a_whitelist_is_refused() {
    let mut config = template();
    config["production"]
        .as_object_mut()
        .unwrap()
        .remove("whitelist");
    let env = [
        ("PORT", "1"),
        ("AC_LOCAL_BASE_URL", "https://a.example"),
        ("REDIS_URL", "redis://r"),
    ];
    let err = message(load(config, Some("production"), &env).unwrap_err());
    assert!(
        err.contains("whitelist") && err.contains("AC_HOST_WHITELIST"),
        "{err}"
    );
}

#[test]
fn the_memory_store_is_allowed_with_a_warning() {
    let mut config = template();
    config["development"]["store"] = json!({"adapter": "jugglingdb", "type": "memory"});
    let c = load(config, None, &[]).unwrap();
    assert_eq!(c.store, StoreConfig::Memory);
    assert!(c.warnings.iter().any(|w| w.contains("lost")));
}

#[test]
fn bad_json_and_non_object_files_are_reported_with_the_path() {
    let err = ProjectConfig::from_text(
        "{\"development\": ",
        Path::new(FILE),
        Path::new("/proj"),
        None,
        &Env::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(FILE) && err.contains("not valid JSON"),
        "{err}"
    );
    let err = message(load(json!([1, 2]), None, &[]).unwrap_err());
    assert!(err.contains("object of stages"), "{err}");
    let err = message(load(json!({"test": {}}), None, &[]).unwrap_err());
    assert!(err.contains("`test`"), "{err}");
    let err = ProjectConfig::from_text(
        "{\n  \"development\": {\n    \"port\" 3000\n  }\n}",
        Path::new(FILE),
        Path::new("/proj"),
        None,
        &Env::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("line 3 column"), "{err}");
}

#[test]
fn search_settings_are_validated() {
    let mut config = template();
    config["development"]["searchHost"] = json!("http://127.0.0.1:8081");
    config["development"]["searchBasePath"] = json!("/search?q=");
    let c = load(config.clone(), None, &[]).unwrap();
    assert_eq!(
        c.search.source,
        SearchSource::ByTag {
            template: "http://127.0.0.1:8081/search?q={tag}".into()
        }
    );
    config["development"]["searchBasePath"] = json!("search?q=");
    assert!(message(load(config.clone(), None, &[]).unwrap_err()).contains("searchBasePath"));
    config["development"]
        .as_object_mut()
        .unwrap()
        .remove("searchHost");
    let err = message(load(config, None, &[]).unwrap_err());
    assert!(
        err.contains("`search`") && err.contains("\"wordpress\""),
        "{err}"
    );
}

#[test]
fn max_results_and_token_age_have_bounds() {
    let mut config = template();
    config["development"]["maxResultsDisplayed"] = json!(0);
    assert!(message(load(config.clone(), None, &[]).unwrap_err()).contains("maxResultsDisplayed"));
    config["development"]["maxResultsDisplayed"] = json!("5");
    assert_eq!(
        load(config.clone(), None, &[])
            .unwrap()
            .max_results_displayed,
        5
    );
    config["development"]["maxTokenAge"] = json!(-1);
    let err = message(load(config.clone(), None, &[]).unwrap_err());
    assert!(
        err.contains("maxTokenAge")
            && err.contains("seconds, at least 1")
            && err.contains("got -1"),
        "{err}"
    );
    config["development"]["maxTokenAge"] = json!(900);
    config["development"]["maxResultsDisplayed"] = json!(1000);
    let err = message(load(config, None, &[]).unwrap_err());
    assert!(
        err.contains("from 1 to 100") && err.contains("got 1000"),
        "{err}"
    );
}

#[test]
fn the_base_url_follows_a_port_chosen_at_bind_time() {
    let c = load(template(), None, &[("PORT", "0")]).unwrap();
    assert_eq!(
        c.base_url_for_port(41234, &Env::default()).as_str(),
        "http://localhost:41234/"
    );
}

#[test]
fn comments_and_trailing_commas_are_accepted_as_the_old_stack_did() {
    let text = r#"{
  // This is the default environment.
  "development": {
    /* the port */ "port": 3000,
    "searchHost": "https://www.hascode.com", // the blog
    "whitelist": ["127.0.0.1",],
  },
  "product": "hipchat",
}"#;
    let c = ProjectConfig::from_text(
        text,
        Path::new(FILE),
        Path::new("/proj"),
        None,
        &Env::default(),
    )
    .unwrap();
    assert_eq!(c.port, 3000);
    assert!(c.whitelist.allows("127.0.0.1"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn every_missing_variable_is_reported_in_one_error() {
    let err = message(load(template(), Some("production"), &[]).unwrap_err());
    for var in ["$PORT", "$AC_LOCAL_BASE_URL", "$REDIS_URL"] {
        assert!(err.contains(var), "{var} missing from: {err}");
    }
    assert!(err.contains("(used by `store.url`)"), "{err}");
    // A variable set through its override is not missing.
    let err = message(
        load(
            template(),
            Some("production"),
            &[("PORT", "80"), ("REDIS_URL", "redis://r")],
        )
        .unwrap_err(),
    );
    assert!(
        err.contains("this environment variable is not set: $AC_LOCAL_BASE_URL"),
        "{err}"
    );
}

#[test]
fn an_unknown_key_is_a_warning_naming_the_key_it_probably_meant() {
    let mut config = template();
    config["development"]["maxResultDisplayed"] = json!(5);
    config["development"]["store"]["adaptor"] = json!("x");
    let c = load(config, None, &[]).unwrap();
    assert!(
        c.warnings.iter().any(|w| w.contains("`maxResultDisplayed`")
            && w.contains("did you mean `maxResultsDisplayed`")),
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("`store.adaptor`") && w.contains("`adapter`")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn a_string_where_a_list_belongs_is_an_error() {
    let mut config = template();
    config["development"]["whitelist"] = json!("*.hipchat.com");
    let err = message(load(config, None, &[]).unwrap_err());
    assert!(
        err.contains("`whitelist`") && err.contains("write it as a list"),
        "{err}"
    );
}

#[test]
fn an_http_base_url_in_production_is_a_warning() {
    let env = [
        ("PORT", "80"),
        ("AC_LOCAL_BASE_URL", "http://addon.example.com"),
        ("REDIS_URL", "redis://r"),
    ];
    let c = load(template(), Some("production"), &env).unwrap();
    assert!(
        c.warnings.iter().any(|w| w.contains("https")),
        "{:?}",
        c.warnings
    );
    let env = [
        ("PORT", "80"),
        ("AC_LOCAL_BASE_URL", "https://addon.example.com"),
        ("REDIS_URL", "redis://r"),
    ];
    assert!(
        load(template(), Some("production"), &env)
            .unwrap()
            .warnings
            .is_empty()
    );
}

#[test]
fn database_url_replaces_the_url_of_a_postgres_store() {
    let mut config = template();
    config["production"]["store"] =
        json!({"adapter": "sequelize", "dialect": "postgres", "url": "$DATABASE_URL"});
    let env = [
        ("PORT", "80"),
        ("AC_LOCAL_BASE_URL", "https://a.example"),
        ("DATABASE_URL", "postgres://u:p@db:5432/x"),
    ];
    let c = load(config.clone(), Some("production"), &env).unwrap();
    assert_eq!(
        c.store,
        StoreConfig::Postgres {
            url: "postgres://u:p@db:5432/x".into(),
            tls: TlsOptions::default(),
            pool: crate::config::store::DEFAULT_POOL,
        }
    );
    // REDIS_URL does not touch a postgres store, so $DATABASE_URL is missing.
    let env = [
        ("PORT", "80"),
        ("AC_LOCAL_BASE_URL", "https://a.example"),
        ("REDIS_URL", "redis://r"),
    ];
    let err = message(load(config, Some("production"), &env).unwrap_err());
    assert!(err.contains("$DATABASE_URL"), "{err}");
}

#[test]
fn tls_settings_on_a_plain_redis_url_are_a_warning_not_an_error() {
    let mut config = template();
    config["development"]["store"] = json!({"adapter": "redis", "url": "redis://127.0.0.1:6379", "tls": {"rejectUnauthorized": false}});
    let c = load(config.clone(), None, &[]).unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("`tls` settings are ignored")),
        "{:?}",
        c.warnings
    );
    let c = load(
        config,
        None,
        &[("REDIS_URL", "rediss://:pw@cache.example:6380")],
    )
    .unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("verification is off")
                && w.contains("rediss://:***@cache.example:6380")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn a_search_object_names_the_source_and_the_old_keys_are_then_ignored() {
    let mut config = template();
    config["development"]["search"] = json!({"source": "feed", "url": "https://blog.example/tags/{tag}/index.xml", "tagUrl": "https://blog.example/tags/{tag}/", "colour": 1});
    let c = load(config.clone(), None, &[]).unwrap();
    assert_eq!(
        c.search.source,
        SearchSource::Feed {
            template: "https://blog.example/tags/{tag}/index.xml".into()
        }
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("`searchHost`") && w.contains("ignored")),
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings.iter().any(|w| w.contains("`search.colour`")),
        "{:?}",
        c.warnings
    );
    config["development"]["search"] = json!({"source": "file", "path": "articles.json"});
    let c = load(config.clone(), None, &[]).unwrap();
    assert_eq!(
        c.search.source,
        SearchSource::File {
            path: "/proj/articles.json".into()
        }
    );
    config["development"]["search"] = json!({"source": "feed", "url": "https://x/feed"});
    let err = message(load(config, None, &[]).unwrap_err());
    assert!(
        err.contains("`search.url`") && err.contains("{tag}"),
        "{err}"
    );
}

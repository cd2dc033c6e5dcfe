//! config.json as users bring it from the old stack: comments, trailing
//! commas, typos, a NODE_ENV that names no stage, variables not set.

use serde_json::json;

use crate::support::serve::{self as kit, Blog, Project, Serve};

// The `atlas-connect new -t hipchat` config.json, comments and all, with the
// blog search's own setting added the way users did.
const OLD_TEMPLATE: &str = r#"{
  // This is the default environment. To change your app to use
  // a different env, set NODE_ENV (http://expressjs.com/api.html#app.configure)
  "development": {
    // This is the port your Express server will listen on
    "port": 0,
    "localBaseUrl": "http://127.0.0.1:$port",
    /* It's recommended that you use the Redis adapter in all environments,
       since it's trivial to install redis locally */
    "store": {
      "adapter": "jugglingdb",
      "type": "sqlite3",
      "database": "store.db",
    },
    "searchHost": "BLOG",
  },
  // This is the production add-on configuration, which is enabled by setting
  // the NODE_ENV=production environment variable.
  "production": {
    // On a PaaS like Heroku, the runtime environment will provide the HTTP port
    "port": "$PORT",
    // This is the public URL to your production add-on.
    "localBaseUrl": "$AC_LOCAL_BASE_URL",
    "store": {
      // You don't want to use the memory store in production
      "adapter": "redis",
      "url": "$REDIS_URL"
    },
    // The app will only accept installation requests from these hosts.
    "whitelist": [
      "*.hipchat.com"
    ],
    "searchHost": "www.hascode.com"
  },
  // This is the "product" that this add-on is written for.
  "product": "hipchat"
}"#;

fn old_template_project(blog: &Blog) -> Project {
    let project = Project::new(&blog.url());
    std::fs::write(
        project.file("config.json"),
        OLD_TEMPLATE.replace("BLOG", &blog.url()),
    )
    .unwrap();
    project
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_with_the_old_templates_commented_config() {
    let blog = Blog::start();
    let project = old_template_project(&blog);
    let serve = Serve::start(project.path(), &[], &[]);
    let health = kit::get_json(&kit::client(), &format!("{}/healthz", serve.url())).await;
    assert_eq!(health["status"], "ok");
    assert!(project.file("store.db").exists());
    assert!(!serve.logs().contains("WARN"), "{}", serve.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_env_that_names_no_stage_stops_start_up_listing_the_stages() {
    let blog = Blog::start();
    let project = old_template_project(&blog);
    let err = Serve::try_start(project.path(), &[], &[("NODE_ENV", "prod")])
        .err()
        .expect("must not start");
    assert!(err.contains("exit status: 2"), "{err}");
    assert!(
        err.contains("no `prod` stage (from NODE_ENV=prod)"),
        "{err}"
    );
    assert!(err.contains("`development`, `production`"), "{err}");
    assert!(err.contains("Did you mean `production`?"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_missing_variable_is_named_in_one_run() {
    let blog = Blog::start();
    let project = old_template_project(&blog);
    let err = Serve::try_start(project.path(), &[], &[("NODE_ENV", "production")])
        .err()
        .expect("must not start");
    for var in ["$PORT", "$AC_LOCAL_BASE_URL", "$REDIS_URL"] {
        assert!(err.contains(var), "{var} not named: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_syntax_error_names_its_line_and_column() {
    let blog = Blog::start();
    let project = old_template_project(&blog);
    let broken = OLD_TEMPLATE.replace(r#""port": 0,"#, r#""port" 0,"#);
    std::fs::write(project.file("config.json"), broken).unwrap();
    let err = Serve::try_start(project.path(), &[], &[])
        .err()
        .expect("must not start");
    assert!(
        err.contains("config.json") && err.contains("on line 6 column 12"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_key_is_a_warning_with_the_key_it_meant() {
    let blog = Blog::start();
    let mut stage = Project::stage(&blog.url(), json!({"adapter": "memory"}));
    stage["maxResultDisplayed"] = json!(5);
    let project = Project::with_stage(json!({"development": stage}));
    let serve = Serve::start(project.path(), &[], &[]);
    let logs = serve.logs();
    assert!(
        logs.contains("`maxResultDisplayed` is not a setting connect knows, so it is ignored; did you mean `maxResultsDisplayed`?"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_descriptor_with_bad_ui_modules_stops_start_up_naming_every_field() {
    let blog = Blog::start();
    let project = Project::new(&blog.url());
    let path = project.file("atlassian-connect.json");
    let mut descriptor: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    descriptor["capabilities"]["glance"] = json!([{"key": "g", "name": {"value": "G"},
        "queryUrl": "{{localBaseUrl}}/glance", "target": "nowhere"}]);
    descriptor["capabilities"]["dialog"] = json!([{"key": "d", "url": "{{localBaseUrl}}/d"}]);
    std::fs::write(&path, descriptor.to_string()).unwrap();
    let err = Serve::try_start(project.path(), &[], &[])
        .err()
        .expect("must not start");
    assert!(err.contains("atlassian-connect.json"), "{err}");
    assert!(err.contains("2 problems"), "{err}");
    assert!(err.contains("capabilities.dialog[0].title"), "{err}");
    assert!(err.contains("\"nowhere\""), "{err}");
}

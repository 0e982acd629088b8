//! The real `sigil server` process: bootstrap, the README walkthrough,
//! durability across restarts, replicas on one PostgreSQL, secrets kept out of logs.

use sigil_e2e::{create_bot, replicas, ServerOptions, TestServer};
use sigil_proto::api::IssueToken;
use sigil_proto::ErrorCode;

use sigil_e2e::rt1 as rt;

#[test]
fn bootstrap_token_file_is_private_and_works() {
    let s = TestServer::start();
    let path = s.data_dir.path().join("owner.jwt");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "bootstrap token file must be 0600");
    }
    let me = rt().block_on(s.client().whoami()).unwrap();
    assert_eq!(me.org, "default");
    assert_eq!(me.kind, "user");
    assert_eq!(me.claims, vec!["*:*:*"]);
    // The master key was generated next to the database, private too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = s.data_dir.path().join("master.key");
        assert_eq!(
            std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn readme_walkthrough_create_issue_use_revoke_refused() {
    let s = TestServer::start();
    rt().block_on(async {
        let owner = s.client();
        create_bot(&owner, "steve", &["machines:get,list:*"]).await;
        let issued = owner
            .issue_token(
                "default",
                &IssueToken {
                    owner: "steve".into(),
                    expiry: Some("100d".into()),
                    label: Some("ci".into()),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        let bot = s.client_with(&issued.token);
        let me = bot.whoami().await.unwrap();
        assert_eq!(me.name, "steve");
        assert_eq!(me.claims, vec!["machines:get,list:*"]);
        owner
            .revoke_token("default", issued.metadata.id, Some("done"))
            .await
            .unwrap();
        let err = bot.whoami().await.unwrap_err();
        assert_eq!(err.status(), Some(401));
        assert_eq!(err.code(), Some(&ErrorCode::Unauthenticated));
        // The JWT never reached the server's log.
        assert!(
            !s.logs().contains(issued.token.expose()),
            "JWT leaked into the log"
        );
        assert!(
            !s.logs().contains(s.owner_token.expose()),
            "owner JWT leaked into the log"
        );
    });
}

#[test]
fn state_survives_a_restart_and_bootstrap_happens_once() {
    let s = TestServer::start();
    let (token, owner_token) = rt().block_on(async {
        let owner = s.client();
        create_bot(&owner, "durable", &["*:*:*"]).await;
        let t = owner
            .issue_token(
                "default",
                &IssueToken {
                    owner: "durable".into(),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        (t.token, s.owner_token.clone())
    });
    // Killed, not shut down: what answered success must be on disk.
    let keep = s.stop();
    let s2 = TestServer::start_with(ServerOptions {
        data_dir: Some(keep.path().to_path_buf()),
        ..Default::default()
    });
    assert!(
        s2.owner_token.expose().is_empty(),
        "a bootstrapped database must not print a second owner token"
    );
    rt().block_on(async {
        assert_eq!(
            s2.client_with(&token).whoami().await.unwrap().name,
            "durable"
        );
        assert_eq!(
            s2.client_with(&owner_token).whoami().await.unwrap().kind,
            "user"
        );
    });
}

#[test]
fn a_wrong_master_key_refuses_to_start() {
    let keep = TestServer::start().stop();
    std::fs::write(
        keep.path().join("master.key"),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    )
    .unwrap();
    let out = std::process::Command::new(sigil_e2e::sigil_bin())
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(keep.path())
        .env_remove("SIGIL_MASTER_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("master key does not match"), "{err}");
}

#[test]
fn replicas_on_one_postgres_share_revocations() {
    let (_db, a, b) = replicas(false);
    assert!(!a.owner_token.expose().is_empty());
    assert!(
        b.owner_token.expose().is_empty(),
        "only the first replica bootstraps"
    );
    rt().block_on(async {
        let owner_a = a.client();
        create_bot(&owner_a, "shared", &["bots:list:*"]).await;
        let t = owner_a
            .issue_token(
                "default",
                &IssueToken {
                    owner: "shared".into(),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        // Issued on A, accepted by B.
        assert_eq!(
            b.client_with(&t.token).whoami().await.unwrap().name,
            "shared"
        );
        // Revoked on B, refused by A at once.
        b.client_with(&a.owner_token)
            .revoke_token("default", t.metadata.id, None)
            .await
            .unwrap();
        assert_eq!(
            a.client_with(&t.token).whoami().await.unwrap_err().status(),
            Some(401)
        );
    });
}

/// `--metrics-listen`: `/metrics` on its own address, in Prometheus' text
/// format, and no longer on the REST port.
#[test]
fn metrics_listen_serves_metrics_there_and_only_there() {
    let s = TestServer::start_with(ServerOptions {
        args: vec!["--metrics-listen".into(), "127.0.0.1:0".into()],
        ..Default::default()
    });
    let metrics = s
        .logs()
        .lines()
        .find_map(|l| {
            l.strip_prefix("metrics listening on ")
                .map(|u| u.trim().to_string())
        })
        .expect("the metrics address is printed");
    rt().block_on(async {
        let http = reqwest::Client::new();
        let r = http.get(&metrics).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let body = r.text().await.unwrap();
        assert!(
            body.contains("# TYPE sigil_http_requests_total counter"),
            "{body}"
        );
        let main = http
            .get(format!("{}/metrics", s.endpoint))
            .send()
            .await
            .unwrap();
        assert_eq!(
            main.status(),
            404,
            "the REST port no longer serves /metrics"
        );
        // The REST API itself is unchanged, and its requests are counted there.
        assert_eq!(s.client().whoami().await.unwrap().kind, "user");
        let again = http
            .get(&metrics)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(again.contains("status=\"404\""), "{again}");
        // Nothing else on the metrics address.
        let other = http
            .get(metrics.replace("/metrics", "/v1/whoami"))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 404);
    });
}

//! Start-up faults and operations bounds (SPEC §5): one server per SQLite
//! data dir, a damaged or emptied database (SQLite or PostgreSQL) stops the
//! start at once with the cause, an unreachable database too; data files private; a stalled body
//! gets an answer and does not hold a shutdown past its bound.

use sigil_e2e::{start_refused, ServerOptions, TestServer};
use sigil_proto::api::CreateBot;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use sigil_e2e::rt1 as rt;

/// A data dir that held a server with one bot; the server is stopped (kill -9).
fn used_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TestServer::start_with(ServerOptions {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    });
    rt().block_on(s.client().create_bot(
        "default",
        &CreateBot {
            username: "steve".into(),
            ..Default::default()
        },
    ))
    .unwrap();
    s.kill9();
    dir
}

fn data_dir_arg(dir: &Path) -> [String; 2] {
    ["--data-dir".into(), dir.display().to_string()]
}

/// Refused at once (well before any pool timeout), with `message` in the output.
fn refused_with(dir: &Path, message: &str) -> String {
    let a = data_dir_arg(dir);
    let r = start_refused(&[&a[0], &a[1]], Duration::from_secs(20));
    assert!(r.failed, "the server started or hung: {}", r.output);
    assert!(r.took < Duration::from_secs(10), "took {:?}", r.took);
    assert!(
        r.output.contains(message),
        "{message:?} not in: {}",
        r.output
    );
    r.output
}

#[test]
fn a_second_server_on_the_same_data_dir_refuses_naming_the_holder() {
    let first = TestServer::start();
    let out = refused_with(
        first.data_dir.path(),
        "is in use by another sigil server (pid ",
    );
    assert!(
        out.contains(&format!("(pid {}, started ", first.pid())),
        "the holder is not named: {out}"
    );
    // The first one still serves.
    rt().block_on(first.client().whoami()).unwrap();
}

#[test]
fn an_overwritten_database_stops_the_start_with_the_cause() {
    let dir = used_data_dir();
    let db = dir.path().join("sigil.db");
    let len = std::fs::metadata(&db).unwrap().len() as usize;
    std::fs::write(&db, vec![b'x'; len.max(4096)]).unwrap();
    refused_with(
        dir.path(),
        "is damaged: it is not a SQLite database (overwritten?)",
    );
}

#[test]
fn a_truncated_database_stops_the_start_with_the_cause() {
    let dir = used_data_dir();
    // Checkpointed into the main file by a clean open, then cut after the
    // header page: pages the schema points at are gone.
    let s = TestServer::start_with(ServerOptions {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    });
    drop(s);
    for side in ["sigil.db-wal", "sigil.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(side));
    }
    let db = dir.path().join("sigil.db");
    let mut head = vec![0u8; 4096];
    std::fs::File::open(&db)
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    std::fs::write(&db, &head).unwrap();
    refused_with(dir.path(), "the database is damaged");
}

#[test]
fn an_empty_database_is_never_bootstrapped_afresh() {
    let dir = used_data_dir();
    for f in ["sigil.db-wal", "sigil.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    std::fs::File::create(dir.path().join("sigil.db")).unwrap();
    let out = refused_with(
        dir.path(),
        "is empty but this data dir held a server before",
    );
    assert!(!out.contains("bootstrap owner token"), "{out}");
    // Deleted altogether: the same refusal.
    std::fs::remove_file(dir.path().join("sigil.db")).unwrap();
    refused_with(
        dir.path(),
        "is missing but this data dir held a server before",
    );
}

/// PostgreSQL has no data dir to remember a start: the marker row does. A
/// database whose every Sigil table was emptied (the marker row and the
/// migrations left) stops the start with the cause; nothing is bootstrapped.
#[test]
fn an_emptied_postgres_database_is_never_bootstrapped_afresh() {
    let (db, s) = TestServer::start_on_postgres();
    drop(s.stop());
    let empty = "DO $$ DECLARE r record; BEGIN FOR r IN SELECT tablename FROM pg_tables \
        WHERE schemaname = 'public' AND tablename NOT IN ('sigil_instance', '_sqlx_migrations') \
        LOOP EXECUTE 'TRUNCATE TABLE ' || quote_ident(r.tablename) || ' CASCADE'; END LOOP; END $$;";
    let out = std::process::Command::new("psql")
        .args([db.url.as_str(), "-v", "ON_ERROR_STOP=1", "-qc", empty])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = start_refused(&["--database-url", &db.url], Duration::from_secs(30));
    assert!(r.failed, "{}", r.output);
    assert!(
        r.output
            .contains("holds no data, but a server was bootstrapped on it at "),
        "{}",
        r.output
    );
    assert!(!r.output.contains("bootstrap owner token"), "{}", r.output);
    let orgs = std::process::Command::new("psql")
        .args([db.url.as_str(), "-tAc", "SELECT COUNT(*) FROM orgs"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&orgs.stdout).trim(),
        "0",
        "nothing bootstrapped"
    );
}

#[test]
fn an_unreachable_database_stops_the_start_with_the_cause() {
    // Nothing listens on port 1.
    let r = start_refused(
        &["--database-url", "postgres://postgres@127.0.0.1:1/sigil"],
        Duration::from_secs(20),
    );
    assert!(r.failed, "{}", r.output);
    assert!(r.took < Duration::from_secs(10), "took {:?}", r.took);
    assert!(
        r.output.contains(
            "error: cannot open database postgres://postgres@127.0.0.1:1/sigil: cannot connect: "
        ),
        "{}",
        r.output
    );
    assert!(!r.output.contains("pool timed out"), "{}", r.output);
}

#[cfg(unix)]
#[test]
fn data_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let s = TestServer::start();
    rt().block_on(s.client().create_bot(
        "default",
        &CreateBot {
            username: "steve".into(),
            ..Default::default()
        },
    ))
    .unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = s.data_dir.path();
    assert_eq!(mode(dir), 0o700, "the data dir");
    for f in [
        "sigil.db",
        "sigil.db-wal",
        "sigil.db-shm",
        "master.key",
        "sigil.lock",
        "initialized",
    ] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
}

/// Connects and sends a request whose body never finishes — after one whole
/// request on the same connection, answered, so the server is surely serving
/// this connection when the stalled one arrives.
fn stalled_body(endpoint: &str, token: &str) -> std::net::TcpStream {
    let addr = endpoint.trim_start_matches("http://");
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(c, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut buf = [0u8; 4096];
    let n = c.read(&mut buf).unwrap();
    let first = String::from_utf8_lossy(&buf[..n]);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    write!(
        c,
        "POST /v1/orgs/default/bots HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"username\""
    )
    .unwrap();
    c.flush().unwrap();
    c
}

#[test]
fn a_stalled_body_gets_a_json_answer_after_the_bound() {
    let s = TestServer::start_with(ServerOptions {
        args: vec!["--body-timeout".into(), "1s".into()],
        ..Default::default()
    });
    let mut c = stalled_body(&s.endpoint, s.owner_token.expose());
    c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut answer = String::new();
    let _ = c.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains(r#""field":"body""#), "{answer}");
    assert!(answer.contains("did not arrive within 1s"), "{answer}");
}

#[test]
fn a_stalled_client_does_not_hold_the_shutdown_past_its_bound() {
    let mut s = TestServer::start_with(ServerOptions {
        args: vec![
            "--body-timeout".into(),
            "10m".into(),
            "--request-timeout".into(),
            "10m".into(),
            "--shutdown-timeout".into(),
            "1s".into(),
        ],
        env: vec![("SIGIL_LOG".into(), "info,sigil_server::serve=trace".into())],
        ..Default::default()
    });
    let _c = stalled_body(&s.endpoint, s.owner_token.expose());
    // In flight: the server is reading its body.
    s.wait_for_log(
        |l| l.contains("reading the request body") && l.contains("/v1/orgs/default/bots"),
        Duration::from_secs(10),
    );
    let took = s.terminate_within(Duration::from_secs(15));
    let took = took.unwrap_or_else(|| panic!("still running 15s after SIGTERM:\n{}", s.logs()));
    // Held by the stalled request until the bound, not beyond it.
    assert!(
        took >= Duration::from_millis(900),
        "{took:?}: was the request in flight?"
    );
    assert!(s
        .logs()
        .contains("requests still in flight 1s after the stop signal"));
}

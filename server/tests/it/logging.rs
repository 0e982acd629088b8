//! The request log never holds a credential: a JWT sent in a query string
//! (where it has no business, but clients do it) is redacted from the logged
//! URI, as are values of `token`, `access_token`, `key`, `secret`…

use crate::harness::{Ctx, Db};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Everything the subscriber writes, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_jwt_in_the_query_string_is_never_logged() {
    let c = Ctx::new(Db::Sqlite).await;
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime runs on this thread, so the default subscriber sees
    // every event of the request.
    let _guard = tracing::subscriber::set_default(subscriber);
    let jwt = c.owner.clone();
    let secret_tail = jwt.rsplit('.').next().unwrap().to_string();
    for path in [
        format!("/v1/whoami?token={jwt}"),
        format!("/v1/whoami?limit=1&access_token={jwt}"),
        format!("/v1/whoami?anything={jwt}"),
        format!("/v1/whoami?{jwt}"),
        format!("/v1/tokens/{jwt}"),
    ] {
        c.status(&path, &c.owner).await;
    }
    drop(_guard);
    let out = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        out.contains("/v1/whoami?limit=1&access_token=[redacted]"),
        "{out}"
    );
    assert!(out.contains("status=200"), "{out}");
    assert!(!out.contains(&jwt), "{out}");
    assert!(!out.contains(&secret_tail), "{out}");
    assert!(!out.contains("eyJ"), "{out}");
}

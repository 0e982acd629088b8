//! An HTTP receiver in the test process: a tiny server on 127.0.0.1:0 that
//! answers every request with one status and keeps what it got, to stand in
//! for a webhook's endpoint; and the check a receiver makes of a delivery's
//! signature.

use crate::within;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the receiver got: its headers (names lowercased) and body.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP receiver on 127.0.0.1:0 that answers every request with `status`
/// and keeps what it got. It lives as long as the test process (the thread
/// blocks in `accept`), which is one test under nextest.
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start(status: u16) -> Receiver {
        Self::start_holding(status, Duration::ZERO)
    }

    /// Like [`Receiver::start`], but each request is kept (recorded at once,
    /// as soon as its body arrived) for `hold` before it is answered: a
    /// delivery in flight for that long.
    pub fn start_holding(status: u16, hold: Duration) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let kept = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(stream);
                let mut headers = Vec::new();
                let mut line = String::new();
                // The request line, then headers up to the blank line.
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                    }
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                kept.lock().unwrap().push(Received {
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                std::thread::sleep(hold);
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Receiver { url, got }
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The first request for which `pred` holds, waited for at most 10 s.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&Received) -> bool) -> Received {
        within(Duration::from_secs(10), what, || {
            self.received().into_iter().find(|r| pred(r))
        })
    }
}

/// Whether `received` carries a `Sigil-Signature` that `secret` made, as a
/// receiver checks it (SPEC §6: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`).
/// The HMAC is Python's, the language of the docs' receiver example
/// (python3 is needed for the Terraform tests anyway); the secret goes
/// through stdin, never on a command line.
pub fn signed_with(received: &Received, secret: &str) -> bool {
    let sig = received.header("sigil-signature").unwrap_or_default();
    let Some((t, v1)) = sig
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let script = "import sys, json, hmac, hashlib
d = json.load(sys.stdin)
print(hmac.new(d['k'].encode(), d['m'].encode(), hashlib.sha256).hexdigest())";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 (needed to check signatures)");
    let input = serde_json::json!({"k": secret, "m": format!("{t}.{}", received.body)});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed");
    !v1.is_empty() && String::from_utf8_lossy(&out.stdout).trim() == v1
}

/// Whether `received` verifies with the Standard Webhooks reference library
/// (`standardwebhooks` from PyPI, pinned into `.tools/py` by
/// `scripts/setup.sh`), given `secret` as a receiver would: a `whsec_…`
/// string as it is, any other secret as its bytes. The secret and the
/// request go through stdin.
pub fn standard_webhooks_verify(received: &Received, secret: &str) -> Result<(), String> {
    let python = crate::workspace().join(".tools/py/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh",
        python.display()
    );
    let script = "import sys, json
from standardwebhooks.webhooks import Webhook
d = json.load(sys.stdin)
s = d['secret']
wh = Webhook(s if s.startswith('whsec_') else s.encode())
wh.verify(d['body'], d['headers'])";
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the .tools/py python");
    let headers: serde_json::Map<String, serde_json::Value> = received
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    let input = serde_json::json!({"secret": secret, "body": received.body, "headers": headers});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

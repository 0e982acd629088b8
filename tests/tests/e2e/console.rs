//! The web console (`/ui/`) in a real browser: Debian's headless Chromium,
//! driven through chromedriver (WebDriver) by fantoccini, against a real
//! `sigil server`. A user's walk: sign in with a pasted token, create a bot,
//! issue a token and copy it from the dialog, find it listed, revoke it (the
//! API then refuses it), delete the bot, sign out; then a read-only token,
//! which is offered nothing it may not do. Along the way: hostile text shown
//! as text, errors next to their field, dialogs closed by Esc with focus
//! given back, no console error, and screenshots at 1280×800 and 390 px wide
//! saved into `docs/console/` (linked from `docs/console.md`) by every run.
//!
//! A second walk, in a browser and server of its own: webhooks and the audit
//! log. A receiver in this process (`sigil_e2e::receiver`) stands in for the
//! webhook's endpoint: create a webhook for it (an invalid URL refused next
//! to the field), its signing secret shown once and gone with the dialog,
//! "Send test" reaching the receiver and shown `delivered`, the attempt in
//! the delivery log, delete with confirmation; then "Verify chain" says the
//! audit chain is intact, and after an entry is edited in the database (this
//! walk runs on PostgreSQL), names that entry and why.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`scripts/setup.sh`
//! installs them); without them the test fails and says so.

use fantoccini::wd::Capabilities;
use fantoccini::{ClientBuilder, Locator};
use sigil_e2e::receiver::{signed_with, Receiver};
use sigil_e2e::{rt, workspace, TestServer};
use sigil_proto::api::{CreateBot, IssueToken};
use sigil_proto::client::Client;
use sigil_proto::SecretString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The longest any one condition of the walk may take.
const WAIT: Duration = Duration::from_secs(20);
const HOSTILE: &str = "<img src=x onerror=alert(1)>";

/// chromedriver on a free loopback port; killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver() -> Driver {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: the web console's test drives Debian's headless chromium \
             through chromium-driver; install both with `bash scripts/setup.sh`"
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let ready = match http.get(format!("{}/status", driver.url)).send().await {
            Ok(r) => r
                .json::<serde_json::Value>()
                .await
                .is_ok_and(|v| v["value"]["ready"] == true),
            Err(_) => false,
        };
        if ready {
            return driver;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not become ready in {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A fresh headless Chromium: its own profile, no network of its own (the
/// sandbox has none, and Chromium would flood it with refused connections).
async fn browser(driver: &Driver, profile: &Path) -> fantoccini::Client {
    let caps: Capabilities = serde_json::from_value(serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
                "--window-size=1280,800",
            ],
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    }))
    .unwrap();
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session with headless chromium")
}

/// The walk's browser and what it needs besides: chromedriver's own
/// endpoints (browser log, permissions) are called with plain HTTP.
struct Ui {
    c: fantoccini::Client,
    driver_url: String,
    session: String,
    base: String,
}

impl Ui {
    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear in {WAIT:?}: {e}"))
    }

    /// Polls a script (`return <bool>`) until it answers true.
    async fn until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.c.execute(script, vec![]).await.expect("script");
            if v == serde_json::Value::Bool(true) {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: not so after {WAIT:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn js(&self, script: &str) -> serde_json::Value {
        self.c.execute(script, vec![]).await.expect("script")
    }

    /// The secret a dialog shows once (a JWT, a webhook secret), after
    /// checking that it comes with its copy button and its warning.
    async fn secret_shown_once(&self, dialog: &str) -> String {
        self.wait_for(&format!("{dialog} #copy-secret")).await;
        let warning = self
            .js(&format!(
                "return document.querySelector('{dialog} .box-warning').textContent;"
            ))
            .await;
        assert!(
            warning
                .as_str()
                .unwrap_or("")
                .contains("shown only this once"),
            "{warning}"
        );
        self.js(&format!(
            "return document.querySelector('{dialog} textarea.secret').value;"
        ))
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.expect("click");
    }

    async fn fill(&self, css: &str, text: &str) {
        let el = self.wait_for(css).await;
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    async fn title(&self) -> String {
        self.wait_for("#page-title")
            .await
            .text()
            .await
            .unwrap_or_default()
    }

    async fn page(&self, title: &str) {
        let script = format!(
            "const h = document.getElementById('page-title'); return !!h && h.textContent === {};",
            serde_json::to_string(title).unwrap()
        );
        self.until(&format!("the page {title:?}"), &script).await;
    }

    /// Chromium's console messages since the last call.
    async fn browser_log(&self) -> Vec<serde_json::Value> {
        let url = format!("{}/session/{}/se/log", self.driver_url, self.session);
        let v: serde_json::Value = reqwest::Client::new()
            .post(url)
            .json(&serde_json::json!({ "type": "browser" }))
            .send()
            .await
            .expect("browser log")
            .json()
            .await
            .expect("browser log JSON");
        v["value"].as_array().cloned().unwrap_or_default()
    }

    /// Saves a screenshot of the page at `width`×`height` into docs/console/.
    /// The page is shown at rest: no focus ring, no passing notice.
    async fn screenshot(&self, name: &str, width: u32, height: u32) -> PathBuf {
        self.viewport(width, height).await;
        self.js("document.activeElement.blur(); \
             document.getElementById('status').classList.remove('show'); return true;")
            .await;
        self.fits(name).await;
        let png = self.c.screenshot().await.expect("screenshot");
        assert_eq!(&png[1..4], b"PNG");
        let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        assert_eq!(
            (size(16), size(20)),
            (width, height),
            "{name}: the screenshot's size"
        );
        // Every run writes them where docs/console.md shows them, so the
        // pictures there are always the last run's.
        let dir = workspace().join("docs").join("console");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}-{width}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Nothing is wider than the window: no sideways scrolling, whatever is
    /// open (the page, a dialog).
    async fn fits(&self, what: &str) {
        let widths = self
            .js(
                "return [document.documentElement.scrollWidth, document.body.scrollWidth, \
                 window.innerWidth, [...document.querySelectorAll('body *')] \
                 .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5) \
                 .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id).join(' ')];",
            )
            .await;
        assert!(
            widths[0].as_u64() <= widths[2].as_u64() && widths[1].as_u64() <= widths[2].as_u64(),
            "{what} overflows sideways (document, body, viewport, the widest): {widths}"
        );
    }

    /// `fits` at 390 px wide, then back to 1280×800.
    async fn fits_at_390(&self, what: &str) {
        self.viewport(390, 844).await;
        self.fits(&format!("{what} at 390 px")).await;
        self.viewport(1280, 800).await;
    }

    /// Sizes the window so that the page itself is `width`×`height` (the
    /// window's own frame, if any, is added).
    async fn viewport(&self, width: u32, height: u32) {
        self.c
            .set_window_size(width, height)
            .await
            .expect("window size");
        let inner = self
            .js("return [window.innerWidth, window.innerHeight];")
            .await;
        let frame = |i: usize, want: u32| {
            let got = u32::try_from(inner[i].as_u64().unwrap_or(0)).unwrap_or(0);
            want.saturating_sub(got)
        };
        let (fw, fh) = (frame(0, width), frame(1, height));
        if fw > 0 || fh > 0 {
            self.c
                .set_window_size(width + fw, height + fh)
                .await
                .expect("window size");
        }
        self.until(
            &format!("a viewport of {width}×{height}"),
            &format!("return window.innerWidth === {width} && window.innerHeight === {height};"),
        )
        .await;
    }

    async fn no_img_in_main(&self) {
        let n = self
            .js("return document.querySelectorAll('img').length;")
            .await;
        assert_eq!(n, 0, "an <img> element was created from stored text");
    }
}

/// The status of `GET /v1/whoami` with `token`.
async fn whoami_status(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/v1/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .expect("whoami")
        .status()
        .as_u16()
}

#[test]
fn console_walk_in_headless_chromium() {
    let s = TestServer::start();
    let base = s.endpoint.clone();
    let profile = tempfile::tempdir().expect("profile dir");
    rt().block_on(async {
        // The headers of the page, straight from the server.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = http.get(format!("{base}/ui")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 308);
        assert_eq!(r.headers()["location"], "/ui/");
        let r = http.get(format!("{base}/ui/")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "CSP {csp:?} lacks {directive}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(r.headers()["referrer-policy"], "no-referrer");
        let page = r.text().await.unwrap();
        assert!(page.len() < 200 * 1024);

        drive(&s, profile.path(), walk).await;
    });
}

/// The webhooks page and the audit log, in a browser and server of their own.
#[test]
fn console_webhooks_and_audit_in_headless_chromium() {
    // On PostgreSQL (the first walk runs on SQLite): the walk edits an
    // audit row behind the server's back with psql.
    let (db, s) = TestServer::start_on_postgres();
    let profile = tempfile::tempdir().expect("profile dir");
    let url = db.url.clone();
    rt().block_on(drive(&s, profile.path(), move |ui, owner| {
        webhooks_walk(ui, owner, url)
    }));
}

/// Runs `walk` in a fresh headless Chromium against `s`, with the owner's token.
async fn drive<F, Fut>(s: &TestServer, profile: &Path, walk: F)
where
    F: FnOnce(Ui, SecretString) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let driver = start_driver().await;
    let c = browser(&driver, profile).await;
    let session = c.session_id().await.unwrap().expect("a session id");
    let ui = Ui {
        c: c.clone(),
        driver_url: driver.url.clone(),
        session,
        base: s.endpoint.clone(),
    };
    // The walk runs as its own task, so that the browser is closed
    // (and no Chromium outlives the test) whether it passes or panics.
    let outcome = tokio::spawn(walk(ui, s.owner_token.clone())).await;
    let _ = c.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn walk(ui: Ui, owner: SecretString) {
    let ui = &ui;
    let c = &ui.c;
    let owner = &owner;
    // Sign in: a wrong token is refused next to the field.
    c.goto(&format!("{}/ui", ui.base)).await.unwrap();
    ui.fill("#signin-form input[name=token]", "not-a-token")
        .await;
    ui.click("#signin-submit").await;
    ui.until(
        "the refusal next to the token field",
        "const e = document.querySelector('#signin-form [data-error-for=token]'); \
         return !!e && e.textContent.length > 0;",
    )
    .await;
    ui.fill("#signin-form input[name=token]", owner.expose())
        .await;
    ui.click("#signin-submit").await;
    ui.page("Bots").await;
    let kept = ui
        .js("return [sessionStorage.length, localStorage.length, document.cookie, location.href];")
        .await;
    assert_eq!(kept[0], 1, "the token is kept in sessionStorage");
    assert_eq!(kept[1], 0, "nothing in localStorage");
    assert_eq!(kept[2], "", "no cookie");
    assert!(
        !kept[3].as_str().unwrap_or("").contains("eyJ"),
        "the token went into the URL"
    );

    // A bot whose description is hostile markup.
    ui.click("#new-bot").await;
    ui.wait_for("#bot-dialog input[name=username]").await;
    ui.fits_at_390("the bot dialog").await;
    ui.fill("#bot-dialog input[name=username]", "Not A Name")
        .await;
    ui.click("#bot-dialog button[type=submit]").await;
    ui.until(
        "the server's refusal next to the username",
        "const e = document.querySelector('#bot-dialog [data-error-for=username]'); \
         return !!e && e.textContent.length > 0;",
    )
    .await;
    ui.fill("#bot-dialog input[name=username]", "console-bot")
        .await;
    ui.fill("#bot-dialog textarea[name=description]", HOSTILE)
        .await;
    ui.fill(
        "#bot-dialog textarea[name=permissions]",
        "machines:get,list:*",
    )
    .await;
    ui.fill(
        "#bot-dialog textarea[name=identities]",
        "github=console-bot",
    )
    .await;
    ui.click("#bot-dialog button[type=submit]").await;
    let row = ui.wait_for("tr[data-bot='console-bot']").await;
    let description = row
        .find(Locator::Css(".description"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(description, HOSTILE, "the description shows as text");
    ui.no_img_in_main().await;
    // Dialogs by keyboard: Esc closes one, and focus goes back to its opener.
    ui.click("#new-bot").await;
    ui.wait_for("#bot-dialog input[name=username]").await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    ui.until(
        "Esc closed the dialog and focus is back on its button",
        "return !document.querySelector('dialog') && document.activeElement.id === 'new-bot';",
    )
    .await;
    ui.screenshot("bots", 1280, 800).await;
    ui.screenshot("bots", 390, 844).await;
    ui.viewport(1280, 800).await;

    // Issue a token for it from its row; the dialog shows the JWT once.
    ui.click("tr[data-bot='console-bot'] button[data-action=issue]")
        .await;
    let owner_field = ui.wait_for("#issue-dialog input[name=owner]").await;
    assert_eq!(
        owner_field.prop("value").await.unwrap().as_deref(),
        Some("console-bot")
    );
    ui.fill("#issue-dialog input[name=label]", HOSTILE).await;
    ui.fill("#issue-dialog input[name=expiry]", "30d").await;
    ui.click("#issue-dialog button[type=submit]").await;
    let jwt = ui.secret_shown_once("#issue-dialog").await;
    ui.fits_at_390("the issue dialog showing the JWT").await;
    assert!(
        jwt.starts_with("eyJ") && jwt.split('.').count() == 3,
        "the dialog shows a JWT"
    );
    // Copy: the clipboard may be read once the browser is allowed to.
    grant_clipboard(ui).await;
    ui.click("#copy-secret").await;
    ui.until(
        "the copy button's copied state",
        "return document.getElementById('copy-secret').dataset.state === 'copied';",
    )
    .await;
    let selected = ui
        .js(
            "const t = document.querySelector('#issue-dialog textarea.secret'); \
             return t.selectionStart === 0 && t.selectionEnd === t.value.length;",
        )
        .await;
    assert_eq!(selected, true, "the JWT is selected after copying");
    let clipboard = c
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             navigator.clipboard.readText().then(done, (e) => done('error: ' + e.name));",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        clipboard.as_str() == Some(jwt.as_str()),
        "the clipboard does not hold the token ({})",
        if clipboard.as_str().unwrap_or("").starts_with("error") {
            clipboard.as_str().unwrap_or("")
        } else {
            "another text"
        }
    );
    assert_eq!(
        whoami_status(&ui.base, &jwt).await,
        200,
        "the copied token works"
    );
    ui.click("#secret-done").await;
    ui.until(
        "the dialog closed and the JWT gone from the page",
        &format!(
            "return !document.querySelector('dialog') && !document.body.textContent.includes({});",
            serde_json::to_string(&jwt).unwrap()
        ),
    )
    .await;

    // The bot's live-token count leads to the token list, filtered by owner.
    ui.until(
        "one live token on the bot's row",
        "const a = document.querySelector(\"tr[data-bot='console-bot'] a.count\"); \
         return !!a && a.textContent === '1';",
    )
    .await;
    ui.click("tr[data-bot='console-bot'] a.count").await;
    ui.page("Tokens").await;
    let owner_filter = ui.wait_for("form.filters input[name=owner]").await;
    assert_eq!(
        owner_filter.prop("value").await.unwrap().as_deref(),
        Some("console-bot")
    );
    let row = ui.wait_for("tr[data-status=active]").await;
    let label = row
        .find(Locator::Css(".label"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(label, HOSTILE, "the label shows as text");
    ui.no_img_in_main().await;
    ui.screenshot("tokens", 1280, 800).await;
    ui.screenshot("tokens", 390, 844).await;
    ui.viewport(1280, 800).await;

    // Revoke it, with confirmation; the API refuses it from then on.
    ui.click("tr[data-status=active] button[data-action=revoke]")
        .await;
    ui.fits_at_390("the revoke confirmation").await;
    ui.fill("#confirm-dialog input[name=reason]", "console test")
        .await;
    ui.click("#confirm-dialog button[type=submit]").await;
    ui.until(
        "the revoked token gone from the live list",
        "return !document.querySelector('dialog') && \
         !document.querySelector('tr[data-status=active]') && \
         !!document.querySelector('.empty');",
    )
    .await;
    assert_eq!(
        whoami_status(&ui.base, &jwt).await,
        401,
        "revoked token refused"
    );
    // Listed again under the revoked filter.
    let status = ui.wait_for("form.filters select[name=status]").await;
    status.select_by_value("revoked").await.unwrap();
    ui.click("form.filters button[type=submit]").await;
    ui.wait_for("tr[data-status=revoked]").await;

    // Delete the bot, with confirmation.
    ui.click("nav a[href='#/bots']").await;
    ui.page("Bots").await;
    ui.click("tr[data-bot='console-bot'] button[data-action=delete]")
        .await;
    ui.click("#confirm-dialog button[type=submit]").await;
    ui.until(
        "the bot gone",
        "return !document.querySelector('dialog') && \
         !document.querySelector(\"tr[data-bot='console-bot']\");",
    )
    .await;
    let gone = reqwest::Client::new()
        .get(format!("{}/v1/orgs/default/bots/console-bot", ui.base))
        .bearer_auth(owner.expose())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(gone.as_u16(), 404, "the bot is deleted");

    // The audit log: the chain verifies (the second walk looks closer).
    ui.click("nav a[href='#/audit']").await;
    ui.page("Audit log").await;
    ui.wait_for("td[data-label=Action]").await;
    ui.click("#verify-chain").await;
    ui.until(
        "the chain verified intact",
        "const r = document.getElementById('verify-result'); \
         return r.dataset.ok === 'true' && !!r.querySelector('.box-ok');",
    )
    .await;
    ui.click("nav a[href='#/keys']").await;
    ui.page("Signing keys").await;
    ui.wait_for("td[data-label='Key id']").await;

    // Sign out forgets the token.
    ui.click("#sign-out").await;
    ui.wait_for("#signin-form").await;
    assert_eq!(ui.js("return sessionStorage.length;").await, 0);
    assert!(ui.title().await.starts_with("Sign in"));

    // A token that may only look at bots and tokens is offered nothing else.
    let viewer = viewer_token(&ui.base, owner).await;
    ui.fill("#signin-form input[name=token]", viewer.expose())
        .await;
    ui.click("#signin-submit").await;
    // Signing in again stays on the page the address names.
    ui.page("Signing keys").await;
    ui.click("nav a[href='#/bots']").await;
    ui.page("Bots").await;
    ui.wait_for("tr[data-bot='viewer']").await;
    let offered = ui
        .js(
            "return [Array.from(document.querySelectorAll('#nav a'), (a) => a.textContent), \
             document.querySelectorAll('#new-bot, [data-action]').length];",
        )
        .await;
    assert_eq!(
        offered,
        serde_json::json!([["Bots", "Tokens", "Signing keys"], 0]),
        "pages and actions offered to a read-only token"
    );
    ui.click("nav a[href='#/tokens']").await;
    ui.page("Tokens").await;
    ui.wait_for("tr[data-status=active]").await;
    // No issuing; revoking only its own token (a token may always revoke itself).
    let own = Client::new(&ui.base, Some(viewer.clone()))
        .unwrap()
        .whoami()
        .await
        .unwrap()
        .token_id;
    let offered = ui
        .js("return [document.querySelectorAll('#issue-token').length, \
             Array.from(document.querySelectorAll('[data-action=revoke]'), \
               (b) => b.closest('tr').dataset.tokenId)];")
        .await;
    assert_eq!(
        offered,
        serde_json::json!([0, [own.to_string()]]),
        "a read-only token is offered no issue, and revoke only of itself"
    );
    ui.click("#sign-out").await;
    ui.wait_for("#signin-form").await;
    no_errors(ui).await;
}

/// No script error, no CSP violation, nothing else logged as an error.
async fn no_errors(ui: &Ui) {
    assert_eq!(
        ui.js("return document.documentElement.dataset.consoleErrors;")
            .await,
        "0"
    );
    let severe: Vec<String> = ui
        .browser_log()
        .await
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .filter(|m| !expected_refusal(m))
        .collect();
    assert!(severe.is_empty(), "console errors: {severe:#?}");
}

/// Chromium logs every 4xx answer to `fetch` as an error. The walks cause
/// three on purpose: the wrong token at sign-in, the invalid username, the
/// invalid webhook URL.
fn expected_refusal(message: &str) -> bool {
    let status = |code: &str| message.contains(&format!("status of {code}"));
    message.contains("Failed to load resource")
        && ((message.contains("/v1/whoami") && status("401"))
            || (message.contains("/v1/orgs/default/bots") && status("400"))
            || (message.contains("/v1/orgs/default/webhooks") && status("400")))
}

/// Signs in with `token` at the console's address; lands on `first`.
async fn sign_in(ui: &Ui, token: &SecretString, first: &str) {
    ui.c.goto(&format!("{}/ui/", ui.base)).await.unwrap();
    ui.fill("#signin-form input[name=token]", token.expose())
        .await;
    ui.click("#signin-submit").await;
    ui.page(first).await;
}

/// The text of the first element `css` matches.
async fn text_of(ui: &Ui, css: &str) -> String {
    ui.wait_for(css).await.text().await.unwrap_or_default()
}

/// `db`: the server's database, to edit an audit entry in.
async fn webhooks_walk(ui: Ui, owner: SecretString, db: String) {
    let ui = &ui;
    let rx = Receiver::start(200);
    sign_in(ui, &owner, "Bots").await;
    ui.click("nav a[href='#/webhooks']").await;
    ui.page("Webhooks").await;
    ui.wait_for(".empty").await;

    // Create one: an invalid URL is refused next to the field.
    ui.click("#new-webhook").await;
    ui.fill("#webhook-dialog input[name=url]", "not a url")
        .await;
    ui.click("#webhook-dialog button[type=submit]").await;
    ui.until(
        "the server's refusal next to the URL",
        "const e = document.querySelector('#webhook-dialog [data-error-for=url]'); \
         return !!e && e.textContent.includes('http');",
    )
    .await;
    ui.fill("#webhook-dialog input[name=url]", &rx.url).await;
    // Two events instead of all of them: unchecking "*" offers the others.
    ui.click("#webhook-dialog input[value='*']").await;
    ui.click("#webhook-dialog input[value='token.revoked']")
        .await;
    ui.click("#webhook-dialog input[value='bot.deleted']").await;
    ui.fill("#webhook-dialog textarea[name=description]", HOSTILE)
        .await;
    ui.click("#webhook-dialog button[type=submit]").await;

    // The secret, once, with its warning and a copy button.
    let secret = ui.secret_shown_once("#webhook-dialog").await;
    ui.fits_at_390("the webhook dialog showing the secret")
        .await;
    assert!(secret.len() >= 16, "the dialog shows a signing secret");
    ui.click("#secret-done").await;
    ui.until(
        "the dialog closed and the secret gone from the page",
        &format!(
            "const s = {}; return !document.querySelector('dialog') && \
             !document.body.textContent.includes(s) && \
             Array.from(document.querySelectorAll('input, textarea'), (e) => e.value) \
               .every((v) => !v.includes(s));",
            serde_json::to_string(&secret).unwrap()
        ),
    )
    .await;
    let listed = reqwest::Client::new()
        .get(format!("{}/v1/orgs/default/webhooks", ui.base))
        .bearer_auth(owner.expose())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(&secret), "the API shows the secret again");
    let hooks: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        hooks["items"][0]["events"],
        serde_json::json!(["token.revoked", "bot.deleted"]),
        "the events checked"
    );

    // Listed, the hostile description as text.
    let row = "tr[data-webhook]";
    assert_eq!(text_of(ui, &format!("{row} .url")).await, rx.url);
    assert_eq!(
        text_of(ui, &format!("{row} .description")).await,
        HOSTILE,
        "the description shows as text"
    );
    ui.no_img_in_main().await;

    // Send test: the receiver gets it, signed with the secret shown, and
    // the page says delivered.
    assert_eq!(rx.received().len(), 0, "nothing delivered before the test");
    ui.click(&format!("{row} button[data-action=test]")).await;
    ui.until(
        "the test's attempt shown delivered",
        "const r = document.getElementById('webhook-test-result'); \
         return r.dataset.result === 'delivered' && \
           r.querySelector('.test-result').textContent === 'delivered';",
    )
    .await;
    let got = rx.received();
    assert_eq!(got.len(), 1, "the receiver got one request");
    assert_eq!(got[0].header("sigil-event"), Some("webhook.test"));
    assert!(
        signed_with(&got[0], &secret),
        "the test delivery is signed with the secret the dialog showed"
    );

    // The delivery log lists the attempt.
    ui.click(&format!("{row} button[data-action=deliveries]"))
        .await;
    let attempt = "#deliveries tr[data-event='webhook.test'][data-result=delivered]";
    ui.wait_for(attempt).await;
    assert_eq!(
        text_of(ui, &format!("{attempt} td[data-label=Attempt]")).await,
        "1"
    );
    assert_eq!(
        text_of(ui, &format!("{attempt} td[data-label='Status code']")).await,
        "200"
    );
    assert!(text_of(ui, &format!("{attempt} td[data-label=Duration]"))
        .await
        .ends_with(" ms"));
    ui.screenshot("webhooks", 1280, 800).await;
    // At 390 px the log is below the webhook's card: show it.
    ui.viewport(390, 844).await;
    ui.js("document.getElementById('deliveries').scrollIntoView(); return true;")
        .await;
    ui.screenshot("webhooks", 390, 844).await;
    ui.viewport(1280, 800).await;
    // Closing the log gives focus back to its button.
    ui.click("#deliveries-close").await;
    ui.until(
        "the log closed, focus back on its button",
        "return document.getElementById('deliveries').hidden && \
         document.activeElement.dataset.action === 'deliveries';",
    )
    .await;

    // Delete, with confirmation.
    ui.click(&format!("{row} button[data-action=delete]")).await;
    ui.click("#confirm-dialog button[type=submit]").await;
    ui.until(
        "the webhook gone",
        "return !document.querySelector('dialog') && \
         !document.querySelector('tr[data-webhook]') && !!document.querySelector('.empty');",
    )
    .await;

    // The audit log: seq and a short hash per entry; the chain verifies.
    ui.click("nav a[href='#/audit']").await;
    ui.page("Audit log").await;
    let first = ui.wait_for("tr[data-seq='1']").await;
    let hash = first
        .find(Locator::Css("td[data-label=Hash] code"))
        .await
        .unwrap();
    let short = hash.text().await.unwrap();
    let full = hash.attr("title").await.unwrap().unwrap_or_default();
    assert!(
        short.len() == 12 && full.len() == 64 && full.starts_with(&short),
        "a short hash ({short}) of the entry's hash ({full})"
    );
    ui.click("#verify-chain").await;
    ui.until(
        "the chain verified intact",
        "const r = document.getElementById('verify-result'); \
         return r.dataset.ok === 'true' && Number(r.dataset.entries) > 0;",
    )
    .await;
    let verdict = text_of(ui, "#verify-result .box-ok").await;
    let entries: u64 = verdict
        .strip_prefix("Chain intact: ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the verdict {verdict:?}"));
    assert!(entries > 0, "{verdict}");
    ui.screenshot("audit", 1280, 800).await;
    ui.screenshot("audit", 390, 844).await;
    ui.viewport(1280, 800).await;

    // Someone with database access rewrites entry 2 (the webhook's
    // creation): verifying again names it and says why.
    let out = Command::new("psql")
        .arg(&db)
        .args(["-v", "ON_ERROR_STOP=1", "-c"])
        .arg("UPDATE audit SET details = '{\"url\": \"https://elsewhere.example\"}' WHERE seq = 2")
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ui.click("#verify-chain").await;
    ui.until(
        "the chain verified broken",
        "const r = document.getElementById('verify-result'); \
         return r.dataset.ok === 'false' && !!r.querySelector('.box-error');",
    )
    .await;
    let verdict = text_of(ui, "#verify-result .box-error").await;
    assert!(
        verdict.contains("broken at entry #2: ")
            && verdict.contains("does not match")
            && verdict.ends_with("The entry before it matches."),
        "{verdict}"
    );
    let shown = ui
        .js("return document.querySelector('#verify-result pre.json').textContent;")
        .await;
    assert!(
        shown.as_str().unwrap_or("").contains("elsewhere.example"),
        "the entry as stored: {shown}"
    );

    ui.click("#sign-out").await;
    ui.wait_for("#signin-form").await;
    no_errors(ui).await;
}

/// Lets the page read the clipboard (WebDriver's Set Permission), so the test
/// can check what the copy button put there.
async fn grant_clipboard(ui: &Ui) {
    let url = format!("{}/session/{}/permissions", ui.driver_url, ui.session);
    for name in ["clipboard-read", "clipboard-write"] {
        let r = reqwest::Client::new()
            .post(&url)
            .json(&serde_json::json!({
                "descriptor": { "name": name },
                "state": "granted",
            }))
            .send()
            .await
            .expect("set permission");
        assert!(r.status().is_success(), "granting {name}: {}", r.status());
    }
}

/// A bot that may list bots and tokens, and nothing else, and a token of it.
async fn viewer_token(base: &str, owner: &SecretString) -> SecretString {
    let owner = Client::new(base, Some(owner.clone())).unwrap();
    owner
        .create_bot(
            "default",
            &CreateBot {
                username: "viewer".into(),
                permissions: vec!["bots:list:*".into(), "tokens:list:*".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    owner
        .issue_token(
            "default",
            &IssueToken {
                owner: "viewer".into(),
                expiry: Some("1h".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap()
        .token
}

//! WebKit (JavaScriptCore) as a [`Driver`], over classic WebDriver.
//!
//! Locally the gate starts WebKitGTK's `WebKitWebDriver` on a virtual
//! display of its own (Xvfb, on a display number Xvfb picks free), and the
//! driver starts the `MiniBrowser`. `--webdriver-url` names a driver
//! started elsewhere instead: `safaridriver` on a macOS runner, or a
//! Selenium Grid node.
//!
//! Why classic WebDriver and not WebKit's inspector protocol (which has a
//! forced GC): the two cannot be combined in one browser, WebDriver is
//! what `safaridriver` speaks too, and cold samples in an engine without a
//! forced collection are taken as in Firefox (the engine collects on its
//! own between samples; the A/A in docs/measurements.md shows they hold).
//! The client is a few lines of HTTP/1.1 over a `TcpStream`: the driver is
//! on loopback or a trusted network, and the gate is synchronous.

use super::process::{self, Owned, Provision};
use super::Driver;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const PROVISION: Provision = Provision {
    name: "WebKitGTK WebDriver (WebKitWebDriver) for the WebKit environments",
    env_var: "WEBKIT_DRIVER",
    binaries: &["WebKitWebDriver"],
    apt_package: "webkit2gtk-driver",
    otherwise:
        "point $WEBKIT_DRIVER at a WebKitWebDriver binary, pass --webdriver-url http://HOST:PORT \
                for a driver started elsewhere (safaridriver on macOS), or leave the WebKit \
                environments out with --env",
};

/// The virtual display WebKitGTK needs on a machine without one.
pub const XVFB: Provision = Provision {
    name: "Xvfb (the virtual display WebKitGTK draws on)",
    env_var: "XVFB",
    binaries: &["Xvfb"],
    apt_package: "xvfb",
    otherwise: "point $XVFB at an Xvfb binary, or leave the WebKit environments out with --env",
};

/// A local WebKit can start here without installing anything: a driver
/// (`$WEBKIT_DRIVER` or on PATH) and Xvfb (`$XVFB` or on PATH).
pub fn available() -> bool {
    [&PROVISION, &XVFB].iter().all(|p| {
        std::env::var_os(p.env_var).is_some() || !crate::util::on_path(p.binaries).is_empty()
    })
}

/// Where WebKitGTK installs its MiniBrowser (Debian and Fedora layouts).
const MINIBROWSER: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.0/MiniBrowser",
    "/usr/libexec/webkit2gtk-4.1/MiniBrowser",
    "/usr/libexec/webkit2gtk-4.0/MiniBrowser",
];

/// An X display of the gate's own: Xvfb chooses a free display number
/// and writes it to its stdout (`-displayfd 1`), so a display the gate did
/// not start is never used, and never killed.
struct Display {
    number: u32,
    _xvfb: Owned,
}

impl Display {
    fn start(xvfb: &Path) -> Result<Display> {
        let mut cmd = Command::new(xvfb);
        cmd.args([
            "-displayfd",
            "1",
            "-nolisten",
            "tcp",
            "-screen",
            "0",
            "1280x800x24",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        process::dies_with_gate(&mut cmd);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", xvfb.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let owned = Owned(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| anyhow!("{} did not open a display within 30 s", xvfb.display()))?;
        let number = line.trim().parse().map_err(|_| {
            anyhow!(
                "{} exited without opening a display (it printed `{}`)",
                xvfb.display(),
                line.trim()
            )
        })?;
        Ok(Display {
            number,
            _xvfb: owned,
        })
    }
}

/// A WebKitWebDriver the gate started on its display.
struct LocalDriver {
    url: String,
    _driver: Owned,
}

impl LocalDriver {
    fn start(exe: &Path, display: &Display) -> Result<LocalDriver> {
        let port = process::free_port()?;
        let mut cmd = Command::new(exe);
        cmd.arg(format!("--port={port}"))
            .env("DISPLAY", format!(":{}", display.number))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        process::dies_with_gate(&mut cmd);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let driver = LocalDriver {
            url: format!("http://127.0.0.1:{port}"),
            _driver: Owned(child),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(v) = request(&driver.url, "GET", "/status", None, Duration::from_secs(5)) {
                if v["ready"].as_bool() == Some(true) {
                    return Ok(driver);
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not answer on {} within 30 s",
                    exe.display(),
                    driver.url
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `(host:port, path prefix)` of an `http://HOST:PORT[/PREFIX]` URL.
fn split_url(url: &str) -> Result<(&str, &str)> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        anyhow!("`{url}` is not an http:// URL (a WebDriver endpoint, e.g. http://127.0.0.1:4444)")
    })?;
    Ok(match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    })
}

/// One WebDriver command: `method path` with a JSON body; the `value` of
/// the answer, or the driver's error in words. Gives up after `timeout`.
fn request(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<Value> {
    let (host, prefix) = split_url(base)?;
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)?
        .next()
        .ok_or_else(|| anyhow!("{host} does not resolve"))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("connecting to the WebDriver endpoint {base}"))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {prefix}{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => anyhow!(
            "WebDriver {method} {path}: no answer within {} s",
            timeout.as_secs()
        ),
        _ => anyhow!("WebDriver {method} {path}: {e}"),
    })?;
    let v = parse_response(&raw).with_context(|| format!("WebDriver {method} {path}"))?;
    let value = v["value"].clone();
    if let Some(err) = value["error"].as_str() {
        bail!(
            "WebDriver {method} {path}: {err} ({})",
            value["message"].as_str().unwrap_or("")
        );
    }
    Ok(value)
}

/// The JSON body of an HTTP/1.1 response (plain or chunked).
fn parse_response(raw: &[u8]) -> Result<Value> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow!("the driver closed the connection without an answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut body = &raw[split + 4..];
    let mut joined = Vec::new();
    if head.contains("transfer-encoding: chunked") {
        loop {
            let nl = body
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| anyhow!("a truncated chunked answer"))?;
            let size = usize::from_str_radix(String::from_utf8_lossy(&body[..nl]).trim(), 16)?;
            if size == 0 {
                break;
            }
            let chunk = body
                .get(nl + 2..nl + 2 + size)
                .ok_or_else(|| anyhow!("a truncated chunked answer"))?;
            joined.extend_from_slice(chunk);
            body = body.get(nl + 4 + size..).unwrap_or(&[]);
        }
        body = &joined;
    }
    serde_json::from_slice(body).map_err(|e| {
        anyhow!(
            "not a JSON answer ({e}): {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )
    })
}

/// The page-side wrapper of one evaluation: the expression's value, or
/// its error, handed to WebDriver's async callback.
fn async_script(expr: &str) -> String {
    format!(
        "const done = arguments[arguments.length - 1];\n\
         Promise.resolve().then(() => ({expr}))\n\
           .then(v => done({{ ok: v === undefined ? null : v }}),\n\
                 e => done({{ err: String((e && e.stack) || e) }}));"
    )
}

/// WebKit over classic WebDriver: a WebKitGTK the gate starts, or a
/// driver at `--webdriver-url`.
pub struct WebKit {
    /// The driver binary and the Xvfb binary, for a local browser.
    local: Option<(PathBuf, PathBuf)>,
    remote: Option<String>,
    // Declared first, so the session is deleted before its driver dies.
    session: Option<Session>,
    driver: Option<LocalDriver>,
    display: Option<Display>,
}

struct Session {
    base: String,
    id: String,
    /// The script timeout set in the session, in ms.
    script_ms: u64,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = request(
            &self.base,
            "DELETE",
            &format!("/session/{}", self.id),
            None,
            Duration::from_secs(10),
        );
    }
}

impl WebKit {
    /// A local WebKitGTK: its driver and Xvfb found, or installed now.
    pub fn local() -> Result<WebKit> {
        let driver = process::find_or_install(&PROVISION)?;
        let xvfb = process::find_or_install(&XVFB)?;
        Ok(WebKit {
            local: Some((driver, xvfb)),
            remote: None,
            session: None,
            driver: None,
            display: None,
        })
    }

    /// A WebDriver endpoint the gate did not start.
    pub fn remote(url: &str) -> Result<WebKit> {
        split_url(url)?;
        Ok(WebKit {
            local: None,
            remote: Some(url.trim_end_matches('/').to_string()),
            session: None,
            driver: None,
            display: None,
        })
    }

    /// The endpoint to open a session on: the remote one, or a local
    /// driver started now (with the display, started once).
    fn endpoint(&mut self) -> Result<String> {
        if let Some(url) = &self.remote {
            return Ok(url.clone());
        }
        let (exe, xvfb) = self.local.as_ref().expect("local or remote");
        if self.display.is_none() {
            self.display = Some(Display::start(xvfb)?);
        }
        // One driver process allows one session: a fresh one per open.
        self.driver = None;
        let d = LocalDriver::start(exe, self.display.as_ref().expect("just started"))?;
        let url = d.url.clone();
        self.driver = Some(d);
        Ok(url)
    }
}

impl Driver for WebKit {
    const ENGINE: &'static str = "webkit";
    const PROTOCOL: &'static str = "WebDriver";

    fn open(&mut self, url: &str, js_flags: &[String]) -> Result<String> {
        if !js_flags.is_empty() {
            bail!("WebKit takes no V8 flags");
        }
        self.session = None;
        let base = self.endpoint()?;
        let mut caps = json!({});
        if self.remote.is_none() {
            if let Some(mb) = MINIBROWSER.iter().find(|p| Path::new(p).is_file()) {
                // Without --automation the browser never answers the driver.
                caps = json!({ "webkitgtk:browserOptions": { "binary": mb, "args": ["--automation"] } });
            }
        }
        let t = Duration::from_secs(60);
        let created = request(
            &base,
            "POST",
            "/session",
            Some(&json!({ "capabilities": { "alwaysMatch": caps } })),
            t,
        )
        .context("opening a WebKit session")?;
        let id = created["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("the WebDriver endpoint {base} returned no session id"))?
            .to_string();
        let version = format!(
            "{}/{}",
            created["capabilities"]["browserName"]
                .as_str()
                .unwrap_or("webkit"),
            created["capabilities"]["browserVersion"]
                .as_str()
                .unwrap_or("?")
        );
        let session = Session {
            base,
            id,
            script_ms: 0,
        };
        request(
            &session.base,
            "POST",
            &format!("/session/{}/url", session.id),
            Some(&json!({ "url": url })),
            t,
        )
        .context("loading the harness page in WebKit")?;
        self.session = Some(session);
        Ok(version)
    }

    fn evaluate(&mut self, expr: &str, timeout: Duration) -> Result<Value> {
        let s = self
            .session
            .as_mut()
            .ok_or_else(|| anyhow!("no WebKit page"))?;
        let ms = timeout.as_millis() as u64;
        if s.script_ms != ms {
            request(
                &s.base,
                "POST",
                &format!("/session/{}/timeouts", s.id),
                Some(&json!({ "script": ms })),
                Duration::from_secs(30),
            )?;
            s.script_ms = ms;
        }
        let r = request(
            &s.base,
            "POST",
            &format!("/session/{}/execute/async", s.id),
            Some(&json!({ "script": async_script(expr), "args": [] })),
            timeout + Duration::from_secs(10),
        )?;
        if let Some(e) = r.get("err") {
            bail!("in the page: {}", e.as_str().unwrap_or("an exception"));
        }
        Ok(r["ok"].clone())
    }

    fn origin(&self) -> String {
        match (&self.remote, &self.local) {
            (Some(url), _) => format!("remote {url}"),
            (None, Some((exe, _))) => format!("launched {}", exe.display()),
            (None, None) => "none".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_and_prefix() {
        assert_eq!(
            split_url("http://127.0.0.1:4444").unwrap(),
            ("127.0.0.1:4444", "")
        );
        assert_eq!(
            split_url("http://grid:4444/wd/hub/").unwrap(),
            ("grid:4444", "/wd/hub")
        );
        assert!(split_url("ws://x:1").is_err());
    }

    #[test]
    fn answers_plain_and_chunked_parse() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"value\":{\"a\":1}}";
        assert_eq!(parse_response(plain).unwrap()["value"]["a"], 1);
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{\"valu\r\nb\r\ne\":[1,2,3]}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap()["value"][2], 3);
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
    }
}

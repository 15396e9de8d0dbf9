//! The harness HTTP server: loopback by default (`--harness-addr` binds
//! another address, for a remote browser, with a warning), a free port, cross-origin
//! isolation headers (COOP/COEP, so `performance.now()` resolves 5 us rather
//! than 100 us), and it serves only the run's own files: an exact table of
//! URL paths, so no path in a request can reach anything else.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// What a URL path serves.
#[derive(Clone, Debug)]
pub enum Body {
    Static(&'static str),
    File(PathBuf),
}

pub struct Server {
    pub port: u16,
    /// The address it listens on (and the host of its URLs).
    pub ip: std::net::IpAddr,
    routes: Arc<RwLock<BTreeMap<String, Body>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

impl Server {
    /// Listen on 127.0.0.1: only this machine can reach the run's files.
    pub fn start() -> Result<Server> {
        Server::start_on(std::net::Ipv4Addr::LOCALHOST.into())
    }

    /// Listen on `ip` (a free port). Anything that can reach `ip` can fetch
    /// the routes while the run lasts: the caller warns about that.
    pub fn start_on(ip: std::net::IpAddr) -> Result<Server> {
        let listener = TcpListener::bind((ip, 0))
            .with_context(|| format!("binding the harness server to {ip}"))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let routes: Arc<RwLock<BTreeMap<String, Body>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (routes.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let r = r.clone();
                        std::thread::spawn(move || {
                            let _ = serve(stream, &r);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(Server {
            port,
            ip,
            routes,
            stop,
            thread: Some(thread),
        })
    }

    pub fn route(&self, path: &str, body: Body) {
        self.routes
            .write()
            .expect("routes lock")
            .insert(path.to_string(), body);
    }

    pub fn url(&self, path: &str) -> String {
        // `SocketAddr` brackets an IPv6 host, as a URL needs.
        format!(
            "http://{}{}",
            std::net::SocketAddr::new(self.ip, self.port),
            path
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, routes: &RwLock<BTreeMap<String, Body>>) -> Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        // Drain headers.
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
                break;
            }
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("");
        let target = parts.next().unwrap_or("");
        let path = target.split(['?', '#']).next().unwrap_or("");
        let found = if method == "GET" || method == "HEAD" {
            routes.read().expect("routes lock").get(path).cloned()
        } else {
            None
        };
        let (status, ctype, body): (&str, &str, Vec<u8>) = match found {
            Some(Body::Static(s)) => ("200 OK", content_type(path), s.as_bytes().to_vec()),
            Some(Body::File(p)) => match std::fs::read(&p) {
                Ok(b) => ("200 OK", content_type(path), b),
                Err(_) => ("404 Not Found", "text/plain", b"not found".to_vec()),
            },
            None => ("404 Not Found", "text/plain", b"not found".to_vec()),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
             Cross-Origin-Opener-Policy: same-origin\r\nCross-Origin-Embedder-Policy: require-corp\r\n\
             Cross-Origin-Resource-Policy: same-origin\r\nCache-Control: no-store\r\nConnection: keep-alive\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        if method != "HEAD" {
            stream.write_all(&body)?;
        }
        stream.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn get(port: u16, path: &str) -> String {
        get_at("127.0.0.1", port, path)
    }

    fn get_at(host: &str, port: u16, path: &str) -> String {
        let mut s = TcpStream::connect((host, port)).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn serves_routes_with_isolation_headers_and_nothing_else() {
        let srv = Server::start().unwrap();
        srv.route("/a.js", Body::Static("export default 1"));
        let ok = get(srv.port, "/a.js");
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert!(ok.contains("Cross-Origin-Opener-Policy: same-origin"));
        assert!(ok.contains("Cross-Origin-Embedder-Policy: require-corp"));
        for bad in [
            "/../Cargo.toml",
            "/a.js/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/etc/passwd",
        ] {
            assert!(
                get(srv.port, bad).starts_with("HTTP/1.1 404"),
                "{bad} must not be served"
            );
        }
    }

    /// For a browser on another host the harness binds the
    /// address it is given (here another loopback address, which exists on
    /// every Linux host), and its URLs name that address, not 127.0.0.1.
    #[test]
    fn binds_the_address_it_is_given_and_names_it_in_urls() {
        let ip: std::net::IpAddr = "127.0.0.2".parse().unwrap();
        let srv = Server::start_on(ip).unwrap();
        srv.route("/index.html", Body::Static("<p>hi"));
        assert_eq!(
            srv.url("/index.html"),
            format!("http://127.0.0.2:{}/index.html", srv.port)
        );
        assert!(get_at("127.0.0.2", srv.port, "/index.html").starts_with("HTTP/1.1 200"));
        // Not also on 127.0.0.1: exactly the address asked for.
        assert!(TcpStream::connect(("127.0.0.1", srv.port)).is_err());
        let v6 = Server {
            port: 8,
            ip: "::1".parse().unwrap(),
            routes: Arc::default(),
            stop: Arc::default(),
            thread: None,
        };
        assert_eq!(v6.url("/x"), "http://[::1]:8/x");
    }
}

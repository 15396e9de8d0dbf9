//! A browser as a process: finding or installing it, starting it with a
//! fresh profile so that it dies with the gate, and reading the endpoint it
//! announces. The same for every engine; only the names differ.

use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where one engine's browser comes from.
pub struct Provision {
    /// What the user calls it: "Chromium".
    pub name: &'static str,
    /// The variable that names a binary explicitly: "CHROME".
    pub env_var: &'static str,
    /// Binary names to look for on PATH, in order of preference.
    pub binaries: &'static [&'static str],
    /// Debian's package, installed when the gate runs as root with apt-get.
    pub apt_package: &'static str,
    /// The other ways out, after the install line of the final error.
    pub otherwise: &'static str,
}

/// Find the browser: `$env_var`, then the binaries on PATH; install the
/// Debian package when we are root with apt-get; otherwise say how to get one.
pub fn find_or_install(p: &Provision) -> Result<PathBuf> {
    if let Some(v) = std::env::var_os(p.env_var) {
        let path = PathBuf::from(v);
        if path.is_file() {
            return Ok(path);
        }
        bail!(
            "${} is set to {}, which does not exist",
            p.env_var,
            path.display()
        );
    }
    let found = || crate::util::on_path(p.binaries).into_iter().next();
    if let Some(path) = found() {
        return Ok(path);
    }
    let install = format!("apt-get update && apt-get install -y {}", p.apt_package);
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    if root && Path::new("/usr/bin/apt-get").is_file() {
        eprintln!(
            "budget: no {} found; installing Debian's {} ({install})",
            p.name, p.apt_package
        );
        let ok = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q {}",
                    p.apt_package
                ),
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            if let Some(path) = found() {
                return Ok(path);
            }
        }
        bail!(
            "installing {} with apt-get failed; run `{install}` and retry",
            p.apt_package
        );
    }
    bail!(
        "no {} found. Install one and retry:\n  Debian/Ubuntu: sudo {install}\n  or {}",
        p.name,
        p.otherwise
    )
}

/// A browser we started: killed with its helper processes, and its profile
/// directory removed, on drop.
pub struct Launched {
    child: Child,
    profile_dir: PathBuf,
    /// What the browser announced after the marker: its endpoint.
    pub endpoint: String,
}

impl Drop for Launched {
    fn drop(&mut self) {
        kill_group(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.profile_dir);
    }
}

/// A fresh, empty profile directory for one launch of `engine`.
pub fn fresh_profile(engine: &str) -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("budget-{engine}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Start a browser (`cmd`, already given `profile_dir`) that announces its
/// endpoint on stderr after `marker`. The profile directory belongs to the
/// result from here on, and is removed with it, or now if the start fails.
pub fn launch(
    cmd: Command,
    profile_dir: PathBuf,
    name: &str,
    marker: &'static str,
    what: &str,
) -> Result<Launched> {
    match spawn_announcing(cmd, name, marker, what) {
        Ok((child, endpoint)) => Ok(Launched {
            child,
            profile_dir,
            endpoint,
        }),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&profile_dir);
            Err(e)
        }
    }
}

/// Start a browser that announces its endpoint on stderr: the child dies
/// with the gate (`PR_SET_PDEATHSIG`, so a crashed or interrupted gate
/// never leaves one behind) and leads its own process group (so its helper
/// processes can be killed with it); wait at most 30 s for the line holding
/// `marker`, and return what follows it. The child's stderr keeps being
/// drained, so it never blocks on a full pipe.
pub fn spawn_announcing(
    mut cmd: Command,
    name: &str,
    marker: &'static str,
    what: &str,
) -> Result<(Child, String)> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    dies_with_gate(&mut cmd);
    let program = cmd.get_program().to_string_lossy().to_string();
    let mut child = cmd.spawn().with_context(|| format!("starting {program}"))?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            // After the endpoint line nobody listens: keep draining.
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let fail = |child: &mut Child, msg: String| {
        kill_group(child);
        Err(anyhow!(msg))
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return fail(
                &mut child,
                format!(
                    "{name} did not open {what} within 30 s; its output:\n{}",
                    seen.join("\n")
                ),
            );
        }
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) => {
                if let Some(rest) = line.split(marker).nth(1) {
                    return Ok((child, rest.trim().to_string()));
                }
                seen.push(line);
            }
            Err(_) => {
                if let Ok(Some(st)) = child.try_wait() {
                    return fail(
                        &mut child,
                        format!(
                            "{name} exited at start ({st}); its output:\n{}",
                            seen.join("\n")
                        ),
                    );
                }
            }
        }
    }
}

/// Make the process `cmd` starts die with the gate (`PR_SET_PDEATHSIG`)
/// and lead its own process group, so [`kill_group`] takes its helpers too.
pub fn dies_with_gate(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl and setpgid are async-signal-safe; they only ask the
        // kernel to SIGKILL the child when this process dies and to give it
        // a process group of its own.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                libc::setpgid(0, 0);
                Ok(())
            });
        }
    }
}

/// A helper process the gate started (a driver, a display): it and its
/// process group are killed, by process id, when this is dropped.
pub struct Owned(pub Child);

impl Drop for Owned {
    fn drop(&mut self) {
        kill_group(&mut self.0);
    }
}

/// A free TCP port on loopback, for a helper that must be told its port.
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// What a browser binary says of itself with `--version` (`Chromium
/// 156.0.8078.73 built on Debian ...`), without starting a browser: a
/// key's identity names it. Bounded: a binary that does not answer in 30 s
/// is an error.
pub fn version(exe: &Path) -> Result<String> {
    let mut child = Command::new(exe)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("running {} --version", exe.display()))?;
    let started = Instant::now();
    while child.try_wait()?.is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{} --version did not answer in 30 s", exe.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        std::io::Read::read_to_string(&mut s, &mut out)?;
    }
    let v = out.trim();
    if v.is_empty() {
        bail!("{} --version printed nothing", exe.display());
    }
    Ok(v.to_string())
}

/// Kill a browser started by [`spawn_announcing`] and its process group
/// (renderer and content processes), then reap it, and wait (up to 5 s)
/// until no process of the group is left: the group's other members die
/// and are reaped by init after the kill, not at it, and a gate that
/// exits in between would leave a dying browser behind (seen: WebKit's
/// MiniBrowser, a child of the driver, still listed after the gate's exit).
pub fn kill_group(child: &mut Child) {
    let group = child.id() as i32;
    #[cfg(target_os = "linux")]
    // SAFETY: kill(2) on the child's own process group (it called setpgid).
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
    #[cfg(target_os = "linux")]
    {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        // SAFETY: signal 0 sends nothing; it asks whether the group has a
        // process left (ESRCH when none).
        while unsafe { libc::kill(-group, 0) } == 0 && std::time::Instant::now() < deadline {
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// `HOST:PORT` of a `ws://HOST:PORT/...` URL, resolved.
pub fn ws_addr(ws: &str) -> Result<(String, std::net::SocketAddr)> {
    let host = ws
        .strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
        .ok_or_else(|| anyhow!("`{ws}` is not a ws:// URL"))?;
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)?
        .next()
        .ok_or_else(|| anyhow!("{host} does not resolve"))?;
    Ok((host.to_string(), addr))
}

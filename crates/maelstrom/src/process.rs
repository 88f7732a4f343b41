//! Node processes: spawning the binary, non-blocking pipes to its stdin and
//! stdout that the router polls (one thread for every node: no hand-offs),
//! bounded line splitting and envelope parsing, signals, and reaping.
//!
//! Invariant: every child is reaped. [`NodeProc`] kills and waits for its
//! child when dropped, so an early return or a panic in the router still
//! cleans up; children also get SIGKILL from the kernel if conch dies
//! (`PR_SET_PDEATHSIG` on Linux), and run in their own process group so a
//! terminal's Ctrl-C reaches only conch, which then shuts them down itself.

use crate::message::parse_head;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};

/// What reading a node's stdout produced.
pub enum Incoming {
    /// A line that parsed as a message.
    Msg(Box<RawMsg>),
    /// A stdout line that is not a message.
    BadLine { node: usize, reason: String, excerpt: String },
    /// The node closed its stdout (it exited, or will).
    Eof { node: usize },
}

/// A message as a node wrote it, with its envelope read.
pub struct RawMsg {
    pub node: usize,
    /// The line, without its newline.
    pub line: Vec<u8>,
    pub src: String,
    pub dest: String,
    pub ty: Option<String>,
    pub msg_id: Option<u64>,
    pub in_reply_to: Option<u64>,
}

/// Bytes of a stderr log shown in reports.
pub const STDERR_TAIL_BYTES: u64 = 2048;

/// Bytes read from one node per poll round, so one chatty node cannot
/// starve the others.
const READ_ROUND_BYTES: usize = 1 << 20;

/// The last bytes of a log file, lossily decoded, starting at a line.
pub fn tail(path: &Path, bytes: u64) -> String {
    let Ok(mut f) = File::open(path) else { return String::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(bytes);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.take(bytes).read_to_end(&mut buf);
    let s = String::from_utf8_lossy(&buf).into_owned();
    match (start > 0, s.find('\n')) {
        (true, Some(i)) => s[i + 1..].to_string(),
        _ => s,
    }
}

/// One running incarnation of a node's binary.
pub struct NodeProc {
    pub node: usize,
    pub pid: i32,
    pub incarnation: u32,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    /// The start of a line not yet ended.
    inbuf: Vec<u8>,
    /// Skipping the rest of a line that was too long.
    overlong: bool,
    /// Bytes queued for stdin; `out[out_pos..]` are not yet written.
    out: Vec<u8>,
    out_pos: usize,
    pub exit: Option<ExitStatus>,
}

fn nonblocking(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with valid commands.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Spawns `bin args` as node `node`, its stderr appended to `stderr_log`.
pub fn spawn(
    bin: &Path,
    args: &[String],
    node: usize,
    incarnation: u32,
    stderr_log: &Path,
) -> std::io::Result<NodeProc> {
    let log = OpenOptions::new().create(true).append(true).open(stderr_log)?;
    let mut cmd = Command::new(bin);
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::from(log));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only async-signal-safe calls are made
        // (setpgid, prctl), with no allocation and no locks.
        unsafe {
            cmd.pre_exec(|| {
                libc::setpgid(0, 0);
                #[cfg(target_os = "linux")]
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn()?;
    let pid = child.id() as i32;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let mut p = NodeProc {
        node,
        pid,
        incarnation,
        child: Some(child),
        stdin,
        stdout,
        inbuf: Vec::new(),
        overlong: false,
        out: Vec::new(),
        out_pos: 0,
        exit: None,
    };
    for fd in [p.stdin_fd(), p.stdout_fd()].into_iter().flatten() {
        if let Err(e) = nonblocking(fd) {
            p.kill_and_reap();
            return Err(e);
        }
    }
    Ok(p)
}

/// The first bytes of a bad line, for reports.
pub fn excerpt(line: &[u8]) -> String {
    let cut = &line[..line.len().min(200)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if line.len() > cut.len() {
        s.push_str("...");
    }
    s
}

/// Parses one line from node `node`.
pub fn classify(node: usize, mut line: Vec<u8>) -> Incoming {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let parsed = parse_head(&line).map(|h| {
        (h.src.into_owned(), h.dest.into_owned(), h.body.ty.map(|t| t.into_owned()), h.body.msg_id, h.body.in_reply_to)
    });
    match parsed {
        Ok((src, dest, ty, msg_id, in_reply_to)) => {
            Incoming::Msg(Box::new(RawMsg { node, line, src, dest, ty, msg_id, in_reply_to }))
        }
        Err(reason) => {
            let reason = if line.iter().all(u8::is_ascii_whitespace) {
                "an empty line".to_string()
            } else {
                format!("not a message: {reason}")
            };
            Incoming::BadLine { node, reason, excerpt: excerpt(&line) }
        }
    }
}

impl NodeProc {
    pub fn stdout_fd(&self) -> Option<RawFd> {
        self.stdout.as_ref().map(|s| s.as_raw_fd())
    }

    pub fn stdin_fd(&self) -> Option<RawFd> {
        self.stdin.as_ref().map(|s| s.as_raw_fd())
    }

    /// Bytes queued and not yet written.
    pub fn pending(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Queues a line for stdin. `false` when the queue would pass `limit`
    /// (the node is not reading) or stdin is closed: the line is dropped.
    pub fn queue(&mut self, bytes: &[u8], limit: usize) -> bool {
        if self.stdin.is_none() || self.pending() + bytes.len() > limit {
            return false;
        }
        self.out.extend_from_slice(bytes);
        true
    }

    /// Writes what it can without blocking. A broken pipe (the node is
    /// gone) closes stdin and drops the queue.
    pub fn write_some(&mut self) {
        let Some(w) = &mut self.stdin else { return };
        while self.out_pos < self.out.len() {
            match w.write(&self.out[self.out_pos..]) {
                Ok(0) => break,
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.stdin = None;
                    self.out.clear();
                    self.out_pos = 0;
                    return;
                }
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        } else if self.out_pos > (1 << 20) {
            self.out.drain(..self.out_pos);
            self.out_pos = 0;
        }
    }

    /// Reads what stdout has (up to a round's worth), splitting lines of at
    /// most `max_line` bytes, and hands each to `f`; then `Eof` if stdout
    /// closed.
    pub fn read_some(&mut self, max_line: usize, f: &mut dyn FnMut(Incoming)) {
        if self.stdout.is_none() {
            return;
        }
        let mut buf = [0u8; 64 * 1024];
        let mut got = 0;
        let mut eof = false;
        while got < READ_ROUND_BYTES {
            let Some(r) = &mut self.stdout else { break };
            match r.read(&mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    got += n;
                    self.split(&buf[..n], max_line, f);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
        if eof {
            self.stdout = None;
            if !self.inbuf.is_empty() && !self.overlong {
                f(classify(self.node, std::mem::take(&mut self.inbuf)));
            }
            f(Incoming::Eof { node: self.node });
        }
    }

    fn split(&mut self, mut data: &[u8], max_line: usize, f: &mut dyn FnMut(Incoming)) {
        while !data.is_empty() {
            let (chunk, ends) = match data.iter().position(|&b| b == b'\n') {
                Some(i) => (&data[..i], Some(i + 1)),
                None => (data, None),
            };
            if !self.overlong {
                if self.inbuf.len() + chunk.len() > max_line {
                    let mut head = std::mem::take(&mut self.inbuf);
                    head.extend_from_slice(&chunk[..chunk.len().min(256)]);
                    self.overlong = true;
                    f(Incoming::BadLine {
                        node: self.node,
                        reason: format!("a line longer than {max_line} bytes"),
                        excerpt: excerpt(&head),
                    });
                } else {
                    self.inbuf.extend_from_slice(chunk);
                }
            }
            match ends {
                Some(i) => {
                    if !self.overlong {
                        f(classify(self.node, std::mem::take(&mut self.inbuf)));
                    }
                    self.overlong = false;
                    data = &data[i..];
                }
                None => data = &[],
            }
        }
    }

    /// Signals the node's whole process group (it leads one), so that a
    /// wrapper script's children stop, resume and die with it.
    pub fn signal(&self, sig: i32) -> bool {
        if self.exit.is_some() || self.child.is_none() {
            return false;
        }
        // SAFETY: the group of a child we spawned and have not reaped; its
        // pid (and so the group id) cannot have been reused.
        unsafe { libc::kill(-self.pid, sig) == 0 || libc::kill(self.pid, sig) == 0 }
    }

    /// Closes stdin: a well-behaved node exits at EOF.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
        self.out.clear();
        self.out_pos = 0;
    }

    /// The exit status if the child has exited, reaping it.
    pub fn try_reap(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Some(c) = &mut self.child {
                if let Ok(Some(s)) = c.try_wait() {
                    self.exit = Some(s);
                }
            }
        }
        self.exit
    }

    /// SIGKILL to the node's process group (a stopped process dies too),
    /// then wait for the child and close the pipes. Idempotent.
    pub fn kill_and_reap(&mut self) -> Option<ExitStatus> {
        if let Some(mut c) = self.child.take() {
            if self.exit.is_none() {
                // SAFETY: the child is not reaped, so its pid, and the id of
                // the group it leads, name nothing else. (Once reaped, the
                // id could be reused: a node that exited by itself is not
                // signalled.)
                unsafe {
                    libc::kill(-self.pid, libc::SIGKILL);
                    libc::kill(self.pid, libc::SIGKILL);
                }
                self.exit = c.wait().ok();
            }
        }
        self.stdin = None;
        self.stdout = None;
        self.exit
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

/// The log file of the node with this id in the run directory.
pub fn stderr_log(dir: &Path, node_id: &str) -> PathBuf {
    dir.join("nodes").join(format!("{node_id}.stderr.log"))
}

/// Describes how a child ended, as a shell would.
pub fn describe_exit(s: Option<ExitStatus>) -> String {
    let Some(s) = s else { return "still running".into() };
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            return format!("killed by signal {sig}");
        }
    }
    match s.code() {
        Some(c) => format!("exited with status {c}"),
        None => "exited".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn sh(script: &str, dir: &Path) -> NodeProc {
        spawn(Path::new("/bin/sh"), &["-c".into(), script.into()], 0, 1, &dir.join("e.log")).unwrap()
    }

    /// Reads until EOF (or 10 s).
    fn collect(p: &mut NodeProc, max_line: usize) -> Vec<Incoming> {
        let mut out = Vec::new();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            p.read_some(max_line, &mut |m| out.push(m));
            if matches!(out.last(), Some(Incoming::Eof { .. })) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        out
    }

    #[test]
    fn lines_are_split_parsed_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let long = "x".repeat(300);
        let script = format!(
            r#"printf '%s\n' '{{"src":"n0","dest":"c1","body":{{"type":"echo_ok","in_reply_to":1}}}}' 'not json' '{long}' '{{"src":"n0","dest":"n1","body":{{"k":1}}}}'; printf 'no newline'; echo oops >&2"#
        );
        let mut p = sh(&script, dir.path());
        let got = collect(&mut p, 100);
        assert_eq!(got.len(), 6, "five lines and EOF");
        assert!(matches!(&got[0], Incoming::Msg(m) if m.dest == "c1" && m.in_reply_to == Some(1)));
        assert!(matches!(&got[1], Incoming::BadLine { reason, .. } if reason.starts_with("not a message")));
        assert!(matches!(&got[2], Incoming::BadLine { reason, .. } if reason.contains("longer than 100")));
        assert!(matches!(&got[3], Incoming::Msg(m) if m.dest == "n1"));
        assert!(matches!(&got[4], Incoming::BadLine { excerpt, .. } if excerpt == "no newline"));
        assert!(matches!(got[5], Incoming::Eof { .. }));
        assert!(p.kill_and_reap().is_some());
        assert_eq!(tail(&dir.path().join("e.log"), 100), "oops\n");
    }

    #[test]
    fn writes_reach_stdin_and_stopped_children_are_reaped() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sh("head -n 1", dir.path());
        assert!(p.queue(b"{\"src\":\"n0\",\"dest\":\"c1\",\"body\":{}}\n", 1 << 20));
        p.write_some();
        assert_eq!(p.pending(), 0);
        let got = collect(&mut p, 1 << 20);
        assert!(matches!(&got[0], Incoming::Msg(m) if m.src == "n0"), "head echoed the line back");
        let mut p2 = sh("sleep 30", dir.path());
        assert!(p2.signal(libc::SIGSTOP));
        let s = p2.kill_and_reap();
        assert!(describe_exit(s).contains("signal 9"), "{}", describe_exit(s));
        p.kill_and_reap();
    }

    #[test]
    fn a_node_that_does_not_read_fills_its_queue_and_nothing_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sh("sleep 30", dir.path());
        let t = Instant::now();
        let mut accepted = 0;
        for _ in 0..1000 {
            if p.queue(&[b'x'; 1024], 200 * 1024) {
                accepted += 1;
            }
            p.write_some();
        }
        assert!(t.elapsed() < Duration::from_secs(2), "writes never block");
        // The pipe takes 64 KiB and the queue up to 200 KiB more.
        assert!((200..1000).contains(&accepted), "{accepted}");
        p.kill_and_reap();
        p.write_some();
        assert!(!p.queue(b"x", 1 << 20), "stdin is closed once the node is gone");
    }

    #[test]
    fn tail_starts_at_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("l");
        std::fs::write(&f, "first line\nsecond\nthird\n").unwrap();
        assert_eq!(tail(&f, 12), "third\n");
        assert_eq!(tail(&f, 1000), "first line\nsecond\nthird\n");
        assert_eq!(tail(&dir.path().join("none"), 10), "");
    }
}

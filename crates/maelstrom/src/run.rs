//! The router: one thread that owns the network, the clients, the services
//! and the nemesis, and every message between them. Node processes talk to
//! it through their reader and writer threads (see [`crate::process`]).
//!
//! A run: spawn the nodes, `init` each (and `topology` for broadcast), let
//! the client threads issue ops at `--rate` while the nemesis works, heal
//! everything at the time limit, wait for the ops in flight, let the system
//! recover, run the final ops, and shut the nodes down.
//!
//! This is real time: the router reads the monotonic clock, and the node
//! processes run as the kernel schedules them. What the seed decides is the
//! fault schedule, each client thread's ops and their pacing, and the random
//! choices of the network and the services in the order they are asked for.

use crate::config::Config;
use crate::journal::{Category, Journal, MessageStats, Sent};
use crate::message;
use crate::nemesis::{self, Action, ScheduledFault};
use crate::net::{Decision, DropReason, Endpoint, Net};
use crate::process::{self, Incoming, NodeProc, RawMsg};
use crate::services::{ServiceKind, Services};
use crate::workload::{Completion, Request, Workload};
use checker::{Event, EventType, Process, Value, F};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set by [`interrupt`] (a Ctrl-C handler): the run stops at once, shuts its
/// nodes down and reports what it has, as `unknown`.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Asks every run in this process to stop (async-signal-safe).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM call [`interrupt`] (for the binary: Ctrl-C
/// then stops the run, which shuts its nodes down and reports).
pub fn stop_on_ctrl_c() {
    extern "C" fn handler(_: libc::c_int) {
        interrupt();
    }
    #[cfg(unix)]
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, handler as *const () as libc::sighandler_t);
    }
}

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Why a run could not happen (the binary exits 2 for these).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Config(String),
    /// The run directory or a log file could not be created.
    #[error("{0}")]
    Io(String),
    /// The binary could not be started.
    #[error("cannot start node {node} with `{bin}`: {reason}")]
    Spawn { node: String, bin: String, reason: String },
    /// Some nodes never answered `init`.
    #[error("{}", describe_init(.0))]
    Init(Vec<StartFailure>),
    /// Ctrl-C before the nodes were up.
    #[error("interrupted before the nodes started")]
    Interrupted,
}

/// A node that did not come up.
#[derive(Clone, Debug, Serialize)]
pub struct StartFailure {
    pub node: String,
    pub reason: String,
    pub stderr_log: PathBuf,
    pub stderr_tail: String,
}

impl RunError {
    /// The binary's exit code: 3 for an interrupt (undecided), else 2.
    pub fn exit_code(&self) -> u8 {
        if matches!(self, RunError::Interrupted) {
            3
        } else {
            2
        }
    }
}

fn describe_init(fs: &[StartFailure]) -> String {
    let mut s = String::new();
    for f in fs {
        s.push_str(&format!("node {} did not start: {}\n  stderr ({}):", f.node, f.reason, f.stderr_log.display()));
        if f.stderr_tail.trim().is_empty() {
            s.push_str(" (empty)\n");
        } else {
            s.push('\n');
            for l in f.stderr_tail.lines() {
                s.push_str(&format!("    {l}\n"));
            }
        }
    }
    s.trim_end().to_string()
}

/// Something a node did wrong, or that happened to it.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// Errors make the run's verdict invalid; warnings are reported only.
    pub severity: Severity,
    pub node: Option<String>,
    pub time_ns: u64,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr_tail: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// A stdout line that is not a message (or too long).
    NotAMessage,
    /// A message whose `src` is not the node that wrote it.
    WrongSource,
    UnknownDestination,
    /// A client-bound message with no `in_reply_to`, or one that names no
    /// request of that client.
    ReplyToNothing,
    /// A second reply to one request.
    DuplicateReply,
    /// A reply that breaks the workload's contract (missing field, wrong type).
    MalformedReply,
    /// The node exited on its own.
    NodeExited,
    /// `init` or `topology` answered with an error or not at all.
    SetupFailed,
    /// A killed node could not be started again.
    RestartFailed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// Problems listed per kind; all are counted.
const MAX_PROBLEMS_PER_KIND: u64 = 20;

/// One node over the run.
#[derive(Clone, Debug, Serialize)]
pub struct NodeReport {
    pub id: String,
    pub pids: Vec<i32>,
    /// Processes started: 1 plus restarts after kills.
    pub incarnations: u32,
    pub stderr_log: PathBuf,
    /// How the last process ended.
    pub exit: String,
    pub messages_sent: u64,
}

/// A fault as it happened.
#[derive(Clone, Debug, Serialize)]
pub struct FaultRecord {
    pub kind: crate::config::NemesisKind,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    pub value: Value,
}

/// Counts over the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunStats {
    pub ops_invoked: u64,
    pub ops_ok: u64,
    pub ops_fail: u64,
    pub ops_info: u64,
    pub final_ops: u64,
    pub timeouts: u64,
    /// Replies that came after their request had timed out.
    pub late_replies: u64,
    pub processes_retired: u64,
    pub restarts: u64,
    /// Wall time from the first spawn to the last reap.
    pub duration_ms: u64,
    /// From the clients' start to the time limit.
    pub client_phase_ms: u64,
    /// Messages through the router, per second of the whole run.
    pub messages_routed_per_s: f64,
    /// Messages through the router per second while clients ran (the
    /// throughput figure: setup, recovery and final reads left out).
    pub client_phase_messages_per_s: f64,
    pub problems_by_kind: BTreeMap<ProblemKind, u64>,
    pub service_requests: BTreeMap<ServiceKind, u64>,
}

/// Everything a run produced, before checking.
pub struct Outcome {
    pub events: Vec<Event>,
    pub messages: MessageStats,
    pub stats: RunStats,
    pub problems: Vec<Problem>,
    pub nodes: Vec<NodeReport>,
    pub faults: Vec<FaultRecord>,
    /// Why the run did not finish normally (interrupted, a limit hit); the
    /// verdict is then at best `unknown`.
    pub cut_short: Option<String>,
    /// Client-phase start, in ns since the run started (history times are
    /// since the run started too).
    pub client_start_ns: u64,
    /// The client (`c{k}`, as in the journal) of each history process.
    pub client_names: BTreeMap<u64, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NodeState {
    /// Spawned, `init` sent, not yet answered.
    Starting,
    Up,
    Paused,
    Killed,
    Exited,
}

struct NodeSlot {
    proc_: Option<NodeProc>,
    state: NodeState,
    incarnation: u32,
    pids: Vec<i32>,
    log: PathBuf,
    /// The harness msg_id of the pending init and topology.
    init_msg: Option<u64>,
    topology_msg: Option<u64>,
    exit: Option<String>,
    sent: u64,
    /// Set while a kill fault holds it down (also across a pause).
    killed_by_nemesis: bool,
}

/// Who owns a client connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Thread(usize),
    Final(usize),
}

struct Outstanding {
    msg_id: u64,
    req: Request,
    node: usize,
}

/// A client connection `c{k}`: one client process.
struct Conn {
    owner: Owner,
    process: u64,
    next_msg_id: u64,
    outstanding: Option<Outstanding>,
    timed_out: BTreeSet<u64>,
}

struct Thread {
    conn: u64,
    rng: ChaCha8Rng,
    /// When its next op may start (ns since run start).
    next_at: u64,
    busy: bool,
}

enum Timer {
    Deliver { sent: Sent, from: Endpoint, to: Endpoint, payload: Payload },
    Dispatch(usize),
    Timeout { conn: u64, msg_id: u64 },
    FaultStart(usize),
    FaultEnd(usize),
}

/// What a delivery carries: a line for a node, a parsed body for everyone else.
enum Payload {
    Line(Vec<u8>),
    Body { body: serde_json::Value, in_reply_to: Option<u64>, src: String },
}

struct Timed {
    at: u64,
    seq: u64,
    timer: Timer,
}

impl PartialEq for Timed {
    fn eq(&self, o: &Timed) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Timed {}
impl PartialOrd for Timed {
    fn partial_cmp(&self, o: &Timed) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timed {
    fn cmp(&self, o: &Timed) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// Seeded generator streams, one per purpose, so that each is reproducible
/// whatever the others draw.
#[derive(Clone, Copy)]
enum Stream {
    Nemesis = 1,
    Net = 2,
    Services = 3,
    /// Client thread `t` uses stream `Threads + t`.
    Threads = 16,
}

fn stream(seed: u64, s: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(s);
    r
}

struct Router<'c> {
    cfg: &'c Config,
    start: Instant,
    n: usize,
    names: Vec<String>,
    nodes: Vec<NodeSlot>,
    net: Net,
    services: Services,
    queue: BinaryHeap<Reverse<Timed>>,
    seq: u64,
    journal: Journal,
    events: Vec<Event>,
    threads: Vec<Thread>,
    conns: HashMap<u64, Conn>,
    next_conn: u64,
    next_harness_msg: u64,
    workload: Workload,
    problems: Vec<Problem>,
    stats: RunStats,
    schedule: Vec<ScheduledFault>,
    faults: Vec<FaultRecord>,
    /// Index into `faults` of each started schedule entry.
    fault_record: HashMap<usize, usize>,
    dispatching: bool,
    faults_on: bool,
    /// The first topology round is over: a restarted node gets its own.
    setup_done: bool,
    shutting_down: bool,
    cut_short: Option<String>,
    client_start_ns: u64,
    /// Final slots still running.
    finals_left: usize,
    routed: u64,
}

/// Runs the cluster and records what happened. Spawn and init failures are
/// errors; everything a node does wrong once running is a [`Problem`].
///
/// Sets SIGPIPE to be ignored for the whole process: writing to a node that
/// just died must be an error to handle, not the death of conch.
pub fn run(cfg: &Config) -> Result<Outcome, RunError> {
    cfg.validate().map_err(RunError::Config)?;
    #[cfg(unix)]
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let nodes_dir = cfg.out_dir.join("nodes");
    std::fs::create_dir_all(&nodes_dir)
        .map_err(|e| RunError::Io(format!("{}: cannot create directory: {e}", nodes_dir.display())))?;
    let journal_path = cfg.out_dir.join("messages.jsonl");
    let journal = Journal::create(&journal_path, cfg.limits.max_journal_messages, cfg.limits.max_message_types)
        .map_err(|e| RunError::Io(format!("{}: cannot create: {e}", journal_path.display())))?;
    check_binary(cfg)?;
    let mut r = Router::new(cfg, journal);
    let result = r.go();
    r.shutdown();
    result?;
    Ok(r.finish())
}

/// A clear message for the usual ways a binary cannot run.
fn check_binary(cfg: &Config) -> Result<(), RunError> {
    let bin = &cfg.bin;
    let fail = |reason: String| Err(RunError::Spawn { node: cfg.node_name(0), bin: bin.display().to_string(), reason });
    // A bare name is looked up in PATH by the OS; only paths are checked here.
    if bin.components().count() > 1 || bin.is_absolute() {
        match std::fs::metadata(bin) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return fail("no such file (check --bin)".into()),
            Err(e) => return fail(e.to_string()),
            Ok(m) if m.is_dir() => return fail("it is a directory, not a program".into()),
            #[cfg(unix)]
            Ok(m) => {
                use std::os::unix::fs::PermissionsExt;
                if m.permissions().mode() & 0o111 == 0 {
                    return fail(format!("it is not executable (try `chmod +x {}`)", bin.display()));
                }
            }
            #[cfg(not(unix))]
            Ok(_) => {}
        }
    }
    Ok(())
}

impl<'c> Router<'c> {
    fn new(cfg: &'c Config, journal: Journal) -> Router<'c> {
        let n = cfg.node_count;
        let names = cfg.node_names();
        let mut nem = stream(cfg.seed, Stream::Nemesis as u64);
        let latency = crate::config::maelstrom_latency(cfg.latency_dist, cfg.latency_ms);
        let schedule = nemesis::schedule(
            &cfg.nemesis,
            n,
            cfg.nemesis_interval.as_nanos() as u64,
            cfg.time_limit.as_nanos() as u64,
            latency.mean_ns(),
            &mut nem,
        );
        let threads = (0..cfg.concurrency)
            .map(|t| Thread {
                conn: 0,
                rng: stream(cfg.seed, Stream::Threads as u64 + t as u64),
                next_at: 0,
                busy: false,
            })
            .collect();
        Router {
            cfg,
            start: Instant::now(),
            n,
            nodes: (0..n)
                .map(|i| NodeSlot {
                    proc_: None,
                    state: NodeState::Exited,
                    incarnation: 0,
                    pids: Vec::new(),
                    log: process::stderr_log(&cfg.out_dir, &names[i]),
                    init_msg: None,
                    topology_msg: None,
                    exit: None,
                    sent: 0,
                    killed_by_nemesis: false,
                })
                .collect(),
            names,
            net: Net::new(n, latency, stream(cfg.seed, Stream::Net as u64)),
            services: Services::new(stream(cfg.seed, Stream::Services as u64)),
            queue: BinaryHeap::new(),
            seq: 0,
            journal,
            events: Vec::new(),
            threads,
            conns: HashMap::new(),
            next_conn: 1,
            next_harness_msg: 1,
            workload: Workload::new(cfg),
            problems: Vec::new(),
            stats: RunStats::default(),
            schedule,
            faults: Vec::new(),
            fault_record: HashMap::new(),
            dispatching: false,
            faults_on: false,
            setup_done: false,
            shutting_down: false,
            cut_short: None,
            client_start_ns: 0,
            finals_left: 0,
            routed: 0,
        }
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn at(&mut self, at: u64, timer: Timer) {
        self.seq += 1;
        self.queue.push(Reverse(Timed { at, seq: self.seq, timer }));
    }

    fn problem(&mut self, kind: ProblemKind, severity: Severity, node: Option<usize>, message: String) {
        let n = self.stats.problems_by_kind.entry(kind).or_insert(0);
        *n += 1;
        if *n > MAX_PROBLEMS_PER_KIND {
            return;
        }
        // What the node logged up to now usually says why (a traceback,
        // a debug print of the bad message).
        let stderr_tail = node.map(|i| process::tail(&self.nodes[i].log, process::STDERR_TAIL_BYTES));
        let time_ns = self.now();
        self.problems.push(Problem {
            kind,
            severity,
            node: node.map(|i| self.names[i].clone()),
            time_ns,
            message,
            stderr_tail,
        });
    }

    // ----- the phases -----

    fn go(&mut self) -> Result<(), RunError> {
        for i in 0..self.n {
            self.start_node(i).map_err(|reason| RunError::Spawn {
                node: self.names[i].clone(),
                bin: self.cfg.bin.display().to_string(),
                reason,
            })?;
        }
        let deadline = self.now() + self.cfg.init_timeout.as_nanos() as u64;
        self.pump(|r| r.nodes.iter().all(|s| s.state != NodeState::Starting), Some(deadline));
        let failed: Vec<StartFailure> = (0..self.n)
            .filter(|&i| self.nodes[i].state != NodeState::Up)
            .map(|i| {
                let s = &self.nodes[i];
                let reason = match s.state {
                    NodeState::Exited => {
                        format!("it {} before answering init", s.exit.clone().unwrap_or_else(|| "exited".into()))
                    }
                    _ => format!("no init_ok within {:?}", self.cfg.init_timeout),
                };
                StartFailure {
                    node: self.names[i].clone(),
                    reason,
                    stderr_log: s.log.clone(),
                    stderr_tail: process::tail(&s.log, process::STDERR_TAIL_BYTES),
                }
            })
            .collect();
        if self.cut_short.is_some() {
            return Err(RunError::Interrupted);
        }
        if !failed.is_empty() {
            return Err(RunError::Init(failed));
        }
        for i in 0..self.n {
            self.send_setup(i);
        }
        let deadline = self.now() + self.cfg.init_timeout.as_nanos() as u64;
        self.pump(|r| r.nodes.iter().all(|s| s.topology_msg.is_none()), Some(deadline));
        self.setup_done = true;
        for i in 0..self.n {
            if self.nodes[i].topology_msg.take().is_some() {
                self.problem(
                    ProblemKind::SetupFailed,
                    Severity::Error,
                    Some(i),
                    "no topology_ok within the init timeout".into(),
                );
            }
        }
        if self.cut_short.is_some() {
            return Ok(());
        }

        // Clients and nemesis.
        self.client_start_ns = self.now();
        let end = self.client_start_ns + self.cfg.time_limit.as_nanos() as u64;
        self.dispatching = true;
        self.faults_on = true;
        let gap = self.mean_gap_ns();
        for t in 0..self.threads.len() {
            let conn = self.new_conn(Owner::Thread(t), t as u64);
            self.threads[t].conn = conn;
            if let Some(g) = gap {
                let first = self.client_start_ns + self.threads[t].rng.random_range(0..=g.saturating_mul(2));
                self.threads[t].next_at = first;
                self.at(first, Timer::Dispatch(t));
            }
        }
        for i in 0..self.schedule.len() {
            let f = &self.schedule[i];
            let (s, e) = (self.client_start_ns + f.start_ns, self.client_start_ns + f.end_ns);
            self.at(s, Timer::FaultStart(i));
            self.at(e, Timer::FaultEnd(i));
        }
        let routed_before = self.routed;
        self.pump(|_| false, Some(end));
        let phase_ns = self.now() - self.client_start_ns;
        self.stats.client_phase_ms = phase_ns / 1_000_000;
        self.stats.client_phase_messages_per_s = (self.routed - routed_before) as f64 / (phase_ns.max(1) as f64 / 1e9);

        // Heal, then wait for the ops in flight.
        self.dispatching = false;
        self.heal_all();
        let drain = self.now() + self.cfg.request_timeout.as_nanos() as u64 + 50_000_000;
        self.pump(|r| r.conns.values().all(|c| c.outstanding.is_none()), Some(drain));

        // Recovery and final ops.
        let slots = self.workload.final_slots(self.n);
        if slots > 0 && self.cut_short.is_none() {
            let until = self.now() + self.cfg.recovery_time.as_nanos() as u64;
            self.pump(|_| false, Some(until));
            let base = self.conns.values().map(|c| c.process).max().map_or(0, |p| p + 1);
            self.finals_left = slots;
            for s in 0..slots {
                let conn = self.new_conn(Owner::Final(s), base + s as u64);
                self.final_step(conn, s, None);
            }
            let timeout = self.cfg.request_timeout.as_nanos() as u64;
            let deadline = self.now() + timeout.saturating_mul(4).max(60_000_000_000);
            self.pump(|r| r.finals_left == 0, Some(deadline));
            if self.finals_left > 0 && self.cut_short.is_none() {
                self.cut_short =
                    Some(format!("{} final op sequences were still running at the deadline", self.finals_left));
            }
        }
        Ok(())
    }

    /// Mean gap between one thread's ops, or `None` at rate 0.
    fn mean_gap_ns(&self) -> Option<u64> {
        (self.cfg.rate > 0.0).then(|| (self.threads.len() as f64 / self.cfg.rate * 1e9) as u64)
    }

    fn new_conn(&mut self, owner: Owner, process: u64) -> u64 {
        let k = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(k, Conn { owner, process, next_msg_id: 1, outstanding: None, timed_out: BTreeSet::new() });
        k
    }

    /// Routes messages and fires timers until `done`, the deadline, an
    /// interrupt or a limit. One `poll(2)` over every node's pipes: reads
    /// whatever stdout has, routes it, then writes every queue at once.
    fn pump(&mut self, done: impl Fn(&Router) -> bool, deadline: Option<u64>) {
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(2 * self.n);
        let mut owners: Vec<(usize, bool)> = Vec::with_capacity(2 * self.n);
        let mut got: Vec<Incoming> = Vec::new();
        loop {
            if interrupted() {
                self.cut_short.get_or_insert_with(|| "interrupted (Ctrl-C)".into());
                return;
            }
            if self.cut_short.is_some() && !self.shutting_down {
                return;
            }
            let now = self.now();
            while let Some(Reverse(t)) = self.queue.peek() {
                if t.at > now {
                    break;
                }
                let Some(Reverse(t)) = self.queue.pop() else { break };
                self.fire(t.timer);
            }
            if done(self) {
                return;
            }
            let now = self.now();
            if deadline.is_some_and(|d| now >= d) {
                return;
            }
            fds.clear();
            owners.clear();
            for (i, s) in self.nodes.iter_mut().enumerate() {
                let Some(p) = &mut s.proc_ else { continue };
                if p.pending() > 0 {
                    p.write_some();
                }
                if let Some(fd) = p.stdout_fd() {
                    fds.push(libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
                    owners.push((i, true));
                }
                if let (Some(fd), true) = (p.stdin_fd(), p.pending() > 0) {
                    fds.push(libc::pollfd { fd, events: libc::POLLOUT, revents: 0 });
                    owners.push((i, false));
                }
            }
            let next_timer = self.queue.peek().map(|Reverse(t)| t.at);
            let wake = [next_timer, deadline].into_iter().flatten().min().unwrap_or(now + 50_000_000);
            let wait_ns = wake.saturating_sub(now).min(50_000_000);
            let ts = libc::timespec { tv_sec: 0, tv_nsec: wait_ns as libc::c_long };
            // SAFETY: `fds` is a valid array of `fds.len()` pollfds, `ts` a
            // valid timespec, and no signal mask is passed.
            let ready = unsafe { libc::ppoll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, &ts, std::ptr::null()) };
            if ready <= 0 {
                continue;
            }
            for (k, fd) in fds.iter().enumerate() {
                if fd.revents == 0 {
                    continue;
                }
                let (i, is_stdout) = owners[k];
                let max_line = self.cfg.limits.max_line_bytes;
                let Some(p) = self.nodes[i].proc_.as_mut() else { continue };
                if is_stdout {
                    p.read_some(max_line, &mut |m| got.push(m));
                } else {
                    p.write_some();
                }
                for m in got.drain(..) {
                    self.incoming(m);
                }
            }
        }
    }

    fn fire(&mut self, t: Timer) {
        match t {
            Timer::Deliver { sent, from, to, payload } => self.deliver(sent, from, to, payload),
            Timer::Dispatch(t) => self.dispatch(t),
            Timer::Timeout { conn, msg_id } => {
                let Some(c) = self.conns.get_mut(&conn) else { return };
                if c.outstanding.as_ref().is_some_and(|o| o.msg_id == msg_id) {
                    let o = c.outstanding.take().expect("checked above");
                    c.timed_out.insert(msg_id);
                    self.stats.timeouts += 1;
                    let done = Completion { kind: EventType::Info, value: o.req.value.clone(), problem: None };
                    self.complete(conn, o, done);
                }
            }
            Timer::FaultStart(i) => self.fault_start(i),
            Timer::FaultEnd(i) => self.fault_end(i),
        }
    }

    // ----- nodes -----

    fn start_node(&mut self, i: usize) -> Result<(), String> {
        let inc = self.nodes[i].incarnation + 1;
        let p =
            process::spawn(&self.cfg.bin, &self.cfg.args, i, inc, &self.nodes[i].log).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => "no such file, or its interpreter (#! line) is missing".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied (is it executable?)".to_string(),
                _ => e.to_string(),
            })?;
        let slot = &mut self.nodes[i];
        slot.pids.push(p.pid);
        slot.proc_ = Some(p);
        slot.incarnation = inc;
        slot.state = NodeState::Starting;
        slot.exit = None;
        let id = self.next_harness_msg;
        self.next_harness_msg += 1;
        self.nodes[i].init_msg = Some(id);
        let body = serde_json::json!({"type": "init", "msg_id": id, "node_id": self.names[i], "node_ids": self.names});
        self.send_conch(Endpoint::Harness, Endpoint::Node(i), body);
        Ok(())
    }

    fn send_setup(&mut self, i: usize) {
        let setup = self.workload.setup(&self.names, self.cfg.topology);
        if let Some((_, mut body)) = setup.into_iter().find(|(j, _)| *j == i) {
            let id = self.next_harness_msg;
            self.next_harness_msg += 1;
            body["msg_id"] = serde_json::json!(id);
            self.nodes[i].topology_msg = Some(id);
            self.send_conch(Endpoint::Harness, Endpoint::Node(i), body);
        }
    }

    fn alive(&self, i: usize) -> bool {
        matches!(self.nodes[i].state, NodeState::Starting | NodeState::Up | NodeState::Paused)
    }

    // ----- messages -----

    fn name_of(&self, e: Endpoint) -> String {
        match e {
            Endpoint::Node(i) => self.names[i].clone(),
            Endpoint::Client(k) => format!("c{k}"),
            Endpoint::Harness => "c0".into(),
            Endpoint::Service(s) => s.name().into(),
        }
    }

    fn resolve(&self, name: &str) -> Option<Endpoint> {
        if let Some(i) = self.cfg.node_index(name) {
            return Some(Endpoint::Node(i));
        }
        if name == "c0" {
            return Some(Endpoint::Harness);
        }
        if let Some(k) = name.strip_prefix('c').and_then(|d| d.parse::<u64>().ok()) {
            return (self.conns.contains_key(&k) && format!("c{k}") == name).then_some(Endpoint::Client(k));
        }
        ServiceKind::parse(name).map(Endpoint::Service)
    }

    fn category(from: Endpoint, to: Endpoint) -> Category {
        match (from, to) {
            (Endpoint::Node(_), Endpoint::Node(_)) => Category::Server,
            (Endpoint::Harness, _) | (_, Endpoint::Harness) => Category::Harness,
            (Endpoint::Service(_), _) | (_, Endpoint::Service(_)) => Category::Service,
            _ => Category::Client,
        }
    }

    /// A message conch itself sends (client requests, init, topology,
    /// service replies).
    fn send_conch(&mut self, from: Endpoint, to: Endpoint, body: serde_json::Value) {
        let (src, dest) = (self.name_of(from), self.name_of(to));
        let mut line = message::line(&src, &dest, &body);
        line.pop();
        let now = self.now();
        let sent = self.journal.send(now, Self::category(from, to), &src, &dest, body["type"].as_str(), &line);
        self.routed += 1;
        let payload = match to {
            Endpoint::Node(_) => {
                line.push(b'\n');
                Payload::Line(line)
            }
            _ => Payload::Body { in_reply_to: body["in_reply_to"].as_u64(), body, src },
        };
        self.route(sent, from, to, payload);
    }

    fn route(&mut self, sent: Sent, from: Endpoint, to: Endpoint, payload: Payload) {
        // The harness is not on the network: init reaches a node before
        // anything else can.
        let decision = if from == Endpoint::Harness {
            Decision::Deliver { delay_ns: 0, duplicate_ns: None }
        } else {
            self.net.decide(from, to)
        };
        match decision {
            Decision::Drop(why) => {
                let now = self.now();
                self.journal.drop(now, &sent, why);
            }
            Decision::Deliver { delay_ns, duplicate_ns } => {
                let now = self.now();
                if let Some(d) = duplicate_ns {
                    self.journal.duplicated(&sent);
                    let copy = match &payload {
                        Payload::Line(l) => Payload::Line(l.clone()),
                        Payload::Body { body, in_reply_to, src } => {
                            Payload::Body { body: body.clone(), in_reply_to: *in_reply_to, src: src.clone() }
                        }
                    };
                    self.at(now + d, Timer::Deliver { sent: sent.clone(), from, to, payload: copy });
                }
                if delay_ns == 0 {
                    self.deliver(sent, from, to, payload);
                } else {
                    self.at(now + delay_ns, Timer::Deliver { sent, from, to, payload });
                }
            }
        }
    }

    fn deliver(&mut self, sent: Sent, from: Endpoint, to: Endpoint, payload: Payload) {
        let now = self.now();
        // A partition that began while the message was in flight drops it.
        if self.net.is_blocked(from, to) {
            self.journal.drop(now, &sent, DropReason::Partition);
            return;
        }
        match (to, payload) {
            (Endpoint::Node(j), Payload::Line(line)) => {
                if !self.alive(j) {
                    self.journal.drop(now, &sent, DropReason::NodeDown);
                    if let Endpoint::Client(k) = from {
                        self.request_undeliverable(k);
                    }
                    return;
                }
                let limit = self.cfg.limits.max_queued_bytes_per_node;
                let ok = self.nodes[j].proc_.as_mut().is_some_and(|p| p.queue(&line, limit));
                if ok {
                    self.journal.deliver(now, &sent);
                } else {
                    self.journal.drop(now, &sent, DropReason::Overflow);
                }
            }
            (Endpoint::Client(k), Payload::Body { body, in_reply_to, .. }) => {
                self.journal.deliver(now, &sent);
                self.client_reply(k, from, body, in_reply_to);
            }
            (Endpoint::Harness, Payload::Body { body, in_reply_to, .. }) => {
                self.journal.deliver(now, &sent);
                self.harness_reply(from, body, in_reply_to);
            }
            (Endpoint::Service(s), Payload::Body { body, src, .. }) => {
                self.journal.deliver(now, &sent);
                let reply = self.services.handle(s, &src, &body);
                *self.stats.service_requests.entry(s).or_insert(0) += 1;
                // The reply goes to whoever sent the request, whatever its
                // message claimed.
                self.send_conch(Endpoint::Service(s), from, reply);
            }
            (_, _) => unreachable!("payloads match their destinations"),
        }
    }

    fn incoming(&mut self, m: Incoming) {
        match m {
            Incoming::Msg(raw) => self.node_message(*raw),
            Incoming::BadLine { node, reason, excerpt } => {
                self.problem(
                    ProblemKind::NotAMessage,
                    Severity::Error,
                    Some(node),
                    format!("stdout line is {reason}: {excerpt}"),
                );
            }
            Incoming::Eof { node } => {
                if !self.alive(node) {
                    return;
                }
                let status = self.wait_exit(node);
                let slot = &mut self.nodes[node];
                slot.state = NodeState::Exited;
                slot.exit = Some(status.clone());
                slot.init_msg = None;
                if !self.shutting_down {
                    self.problem(ProblemKind::NodeExited, Severity::Error, Some(node), format!("the node {status}"));
                }
            }
        }
    }

    /// After EOF: the process's exit, waiting briefly (stdout closes just
    /// before the process is gone).
    fn wait_exit(&mut self, i: usize) -> String {
        let Some(p) = self.nodes[i].proc_.as_mut() else { return "exited".into() };
        for _ in 0..50 {
            if let Some(s) = p.try_reap() {
                return process::describe_exit(Some(s));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        "closed its stdout".into()
    }

    fn node_message(&mut self, mut m: RawMsg) {
        let i = m.node;
        self.nodes[i].sent += 1;
        self.routed += 1;
        if self.routed > self.cfg.limits.max_messages && self.cut_short.is_none() {
            self.cut_short = Some(format!("more than {} messages routed (the limit)", self.cfg.limits.max_messages));
        }
        if m.src != self.names[i] {
            let msg =
                format!("a message from {} claims src {:?}; routed as from {}", self.names[i], m.src, self.names[i]);
            self.problem(ProblemKind::WrongSource, Severity::Error, Some(i), msg);
        }
        let from = Endpoint::Node(i);
        let now = self.now();
        let dest = self.resolve(&m.dest);
        let category = dest.map_or(Category::Server, |d| Self::category(from, d));
        let sent = self.journal.send(now, category, &self.names[i], &m.dest, m.ty.as_deref(), &m.line);
        let Some(to) = dest else {
            self.journal.drop(now, &sent, DropReason::UnknownDestination);
            let msg = format!(
                "message of type {:?} to {:?}, which is no node, client or service",
                m.ty.as_deref().unwrap_or("?"),
                m.dest
            );
            self.problem(ProblemKind::UnknownDestination, Severity::Error, Some(i), msg);
            return;
        };
        let payload = match to {
            Endpoint::Node(_) => {
                m.line.push(b'\n');
                Payload::Line(m.line)
            }
            _ => {
                // Clients, the harness and services read the body; the head
                // parsed, so the line is an object with an object body.
                let body = serde_json::from_slice::<serde_json::Value>(&m.line)
                    .ok()
                    .and_then(|mut v| v.get_mut("body").map(std::mem::take))
                    .unwrap_or(serde_json::Value::Null);
                Payload::Body { body, in_reply_to: m.in_reply_to, src: self.names[i].clone() }
            }
        };
        self.route(sent, from, to, payload);
    }

    fn harness_reply(&mut self, from: Endpoint, body: serde_json::Value, in_reply_to: Option<u64>) {
        let Endpoint::Node(i) = from else { return };
        let ty = body["type"].as_str().unwrap_or("").to_string();
        let slot = &mut self.nodes[i];
        if in_reply_to.is_some() && in_reply_to == slot.init_msg {
            slot.init_msg = None;
            if ty == "init_ok" {
                if slot.state == NodeState::Starting {
                    slot.state = NodeState::Up;
                }
                // A restarted node is told its topology again.
                if self.setup_done {
                    self.send_setup(i);
                }
            } else {
                let msg = format!("init was answered with {body}");
                self.problem(ProblemKind::SetupFailed, Severity::Error, Some(i), msg);
                if self.nodes[i].state == NodeState::Starting {
                    // Counted as not started: the run refuses to begin.
                    self.nodes[i].state = NodeState::Exited;
                    self.nodes[i].exit = Some(format!("answered init with {body}"));
                }
            }
        } else if in_reply_to.is_some() && in_reply_to == slot.topology_msg {
            slot.topology_msg = None;
            if ty != "topology_ok" {
                self.problem(
                    ProblemKind::SetupFailed,
                    Severity::Error,
                    Some(i),
                    format!("topology was answered with {body}"),
                );
            }
        } else {
            let msg = format!("a message to the harness (c0) that answers nothing it sent: {body}");
            self.problem(ProblemKind::ReplyToNothing, Severity::Error, Some(i), msg);
        }
    }

    // ----- clients -----

    fn dispatch(&mut self, t: usize) {
        if !self.dispatching || self.threads[t].busy {
            return;
        }
        if self.stats.ops_invoked >= self.cfg.limits.max_ops {
            return;
        }
        let mut rng = std::mem::replace(&mut self.threads[t].rng, ChaCha8Rng::seed_from_u64(0));
        let req = self.workload.next(t, &mut rng);
        if let Some(g) = self.mean_gap_ns() {
            let next = self.threads[t].next_at + rng.random_range(0..=g.saturating_mul(2));
            self.threads[t].next_at = next;
        }
        self.threads[t].rng = rng;
        self.threads[t].busy = true;
        let conn = self.threads[t].conn;
        self.invoke(conn, t % self.n, req);
    }

    fn invoke(&mut self, conn: u64, node: usize, req: Request) {
        let now = self.now();
        let c = self.conns.get_mut(&conn).expect("connections are never removed");
        let msg_id = c.next_msg_id;
        c.next_msg_id += 1;
        let process = c.process;
        let mut body = req.body.clone();
        body["msg_id"] = serde_json::json!(msg_id);
        self.stats.ops_invoked += 1;
        if req.is_final {
            self.stats.final_ops += 1;
        }
        self.record(EventType::Invoke, process, &req, req.value.clone(), node, now);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.outstanding = Some(Outstanding { msg_id, req, node });
        }
        let timeout = self.cfg.request_timeout.as_nanos() as u64;
        self.at(now + timeout, Timer::Timeout { conn, msg_id });
        self.send_conch(Endpoint::Client(conn), Endpoint::Node(node), body);
    }

    fn record(&mut self, kind: EventType, process: u64, req: &Request, value: Value, node: usize, now: u64) {
        let line = self.events.len() as u64 + 1;
        let mut e = Event::new(line, kind, Process::Client(process), req.f.clone(), value);
        e.key = req.key.clone();
        e.time_ns = Some(now as i64);
        e.node = Some(self.names[node].clone().into());
        e.is_final = req.is_final;
        self.events.push(e);
    }

    /// A request that reached a dead node never ran: it definitely failed.
    fn request_undeliverable(&mut self, conn: u64) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if let Some(o) = c.outstanding.take() {
            let done = Completion { kind: EventType::Fail, value: o.req.value.clone(), problem: None };
            self.complete(conn, o, done);
        }
    }

    fn client_reply(&mut self, conn: u64, from: Endpoint, body: serde_json::Value, in_reply_to: Option<u64>) {
        let node = match from {
            Endpoint::Node(i) => Some(i),
            _ => None,
        };
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let Some(id) = in_reply_to else {
            let msg = format!("a message to client c{conn} without in_reply_to: {body}");
            self.problem(ProblemKind::ReplyToNothing, Severity::Error, node, msg);
            return;
        };
        let owner = c.owner;
        let mine = c.outstanding.as_ref().is_some_and(|o| o.msg_id == id);
        let (late, sent) = (c.timed_out.contains(&id), id >= 1 && id < c.next_msg_id);
        if !mine {
            if late {
                self.stats.late_replies += 1;
            } else if sent {
                let msg = format!("a second reply to client c{conn}'s request {id}: {body}");
                self.problem(ProblemKind::DuplicateReply, Severity::Warning, node, msg);
            } else {
                let msg = format!("a reply to client c{conn}'s request {id}, which it never sent: {body}");
                self.problem(ProblemKind::ReplyToNothing, Severity::Error, node, msg);
            }
            return;
        }
        let o = c.outstanding.take().expect("checked above");
        let ty = body["type"].as_str().unwrap_or("");
        let done = if ty == "error" {
            match body["code"].as_i64() {
                Some(code) => self.workload.on_error(&o.req, code),
                None => Completion {
                    kind: EventType::Info,
                    value: o.req.value.clone(),
                    problem: Some(format!("an error without an integer code: {body}")),
                },
            }
        } else if ty == o.req.ok_type() {
            let t = match owner {
                Owner::Thread(t) => Some(t),
                Owner::Final(_) => None,
            };
            self.workload.complete(t, &o.req, &body)
        } else {
            Completion {
                kind: EventType::Info,
                value: o.req.value.clone(),
                problem: Some(format!(
                    "expected {} or error in reply to {}, got {body}",
                    o.req.ok_type(),
                    o.req.body["type"]
                )),
            }
        };
        if let Some(p) = &done.problem {
            let msg = format!("{p} (client c{conn}, request {id})");
            self.problem(ProblemKind::MalformedReply, Severity::Error, node, msg);
        }
        self.complete(conn, o, done);
    }

    fn complete(&mut self, conn: u64, o: Outstanding, done: Completion) {
        let now = self.now();
        let c = self.conns.get(&conn).expect("exists");
        let (owner, process) = (c.owner, c.process);
        match done.kind {
            EventType::Ok => self.stats.ops_ok += 1,
            EventType::Fail => self.stats.ops_fail += 1,
            _ => self.stats.ops_info += 1,
        }
        self.record(done.kind, process, &o.req, done.value.clone(), o.node, now);
        let info = done.kind == EventType::Info;
        match owner {
            Owner::Thread(t) => {
                if info {
                    // The process may still be running the op: a new one
                    // takes the thread, on a new connection.
                    self.stats.processes_retired += 1;
                    self.workload.retired(t);
                    let next = process + self.threads.len() as u64;
                    self.threads[t].conn = self.new_conn(Owner::Thread(t), next);
                }
                self.threads[t].busy = false;
                if self.dispatching {
                    let at = self.threads[t].next_at.max(now);
                    self.at(at, Timer::Dispatch(t));
                }
            }
            Owner::Final(s) => {
                if info {
                    self.stats.processes_retired += 1;
                }
                self.final_step(conn, s, Some(&done));
            }
        }
    }

    fn final_step(&mut self, conn: u64, slot: usize, last: Option<&Completion>) {
        let next = if self.cut_short.is_some() { None } else { self.workload.final_next(slot, last) };
        match next {
            Some(req) if last.is_none_or(|c| c.kind != EventType::Info) => self.invoke(conn, slot % self.n, req),
            _ => self.finals_left = self.finals_left.saturating_sub(1),
        }
    }

    // ----- faults -----

    fn fault_start(&mut self, i: usize) {
        if !self.faults_on {
            return;
        }
        let f = self.schedule[i].clone();
        let value = f.action.value(&self.names);
        let now = self.now();
        let name = format!("start-{}", f.kind.name());
        self.nemesis_event(EventType::Invoke, &name, value.clone(), now);
        match &f.action {
            Action::Partition { blocked, .. } => self.net.set_partition(blocked),
            Action::Pause(ns) => {
                for &j in ns {
                    if self.nodes[j].state == NodeState::Up {
                        if let Some(p) = &self.nodes[j].proc_ {
                            if p.signal(libc::SIGSTOP) {
                                self.nodes[j].state = NodeState::Paused;
                            }
                        }
                    }
                }
            }
            Action::Kill(ns) => {
                for &j in ns {
                    if self.alive(j) {
                        if let Some(p) = &mut self.nodes[j].proc_ {
                            let s = p.kill_and_reap();
                            self.nodes[j].exit = Some(process::describe_exit(s));
                        }
                        self.nodes[j].state = NodeState::Killed;
                        self.nodes[j].killed_by_nemesis = true;
                        self.nodes[j].init_msg = None;
                    }
                }
            }
            Action::Loss(p) => self.net.loss = *p,
            Action::Duplicate(p) => self.net.duplicate = *p,
            Action::Delay(l) => self.net.delay = Some(l.clone()),
        }
        self.nemesis_event(EventType::Info, &name, value.clone(), self.now());
        self.fault_record.insert(i, self.faults.len());
        self.faults.push(FaultRecord { kind: f.kind, start_ns: now, end_ns: None, value });
    }

    fn fault_end(&mut self, i: usize) {
        let Some(rec) = self.fault_record.remove(&i) else { return };
        let f = self.schedule[i].clone();
        let now = self.now();
        let name = format!("stop-{}", f.kind.name());
        self.nemesis_event(EventType::Invoke, &name, Value::Nil, now);
        match &f.action {
            Action::Partition { .. } => self.net.set_partition(&[]),
            Action::Pause(ns) => {
                for &j in ns {
                    if self.nodes[j].state == NodeState::Paused {
                        if let Some(p) = &self.nodes[j].proc_ {
                            p.signal(libc::SIGCONT);
                        }
                        self.nodes[j].state = NodeState::Up;
                    }
                }
            }
            Action::Kill(ns) => {
                for &j in ns {
                    if self.nodes[j].state == NodeState::Killed && self.nodes[j].killed_by_nemesis {
                        self.nodes[j].killed_by_nemesis = false;
                        self.stats.restarts += 1;
                        if let Err(why) = self.start_node(j) {
                            self.nodes[j].state = NodeState::Exited;
                            self.problem(
                                ProblemKind::RestartFailed,
                                Severity::Error,
                                Some(j),
                                format!("restart failed: {why}"),
                            );
                        }
                    }
                }
            }
            Action::Loss(_) => self.net.loss = 0.0,
            Action::Duplicate(_) => self.net.duplicate = 0.0,
            Action::Delay(_) => self.net.delay = None,
        }
        self.nemesis_event(EventType::Info, &name, Value::Nil, self.now());
        self.faults[rec].end_ns = Some(now);
    }

    /// Ends every fault in force and cancels those not yet begun.
    fn heal_all(&mut self) {
        let active: Vec<usize> = {
            let mut v: Vec<usize> = self.fault_record.keys().copied().collect();
            v.sort_unstable();
            v
        };
        for i in active {
            self.fault_end(i);
        }
        self.faults_on = false;
    }

    fn nemesis_event(&mut self, kind: EventType, f: &str, value: Value, now: u64) {
        let line = self.events.len() as u64 + 1;
        let mut e = Event::new(line, kind, Process::Nemesis, F::parse(f), value);
        e.time_ns = Some(now as i64);
        self.events.push(e);
    }

    // ----- the end -----

    /// Closes every node's stdin, gives them a moment to exit, then kills
    /// and reaps whatever is left. Always runs, also after an error.
    fn shutdown(&mut self) {
        self.shutting_down = true;
        self.dispatching = false;
        for s in &mut self.nodes {
            if let Some(p) = &mut s.proc_ {
                if s.state == NodeState::Paused {
                    p.signal(libc::SIGCONT);
                }
                p.close_stdin();
            }
        }
        let grace = self.now() + 500_000_000;
        let mut got = Vec::new();
        while self.now() < grace
            && self.nodes.iter_mut().any(|s| s.proc_.as_mut().is_some_and(|p| p.try_reap().is_none()))
        {
            // Keep reading so that nodes flushing output at exit do not block.
            for s in &mut self.nodes {
                if let Some(p) = &mut s.proc_ {
                    p.read_some(self.cfg.limits.max_line_bytes, &mut |m| got.push(m));
                }
            }
            for m in got.drain(..) {
                if let Incoming::Eof { node } = m {
                    self.nodes[node].state = NodeState::Exited;
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for s in &mut self.nodes {
            if let Some(p) = &mut s.proc_ {
                let e = p.kill_and_reap();
                if s.exit.is_none() || !matches!(s.state, NodeState::Killed) {
                    s.exit = Some(process::describe_exit(e));
                }
            }
        }
        self.journal.flush();
    }

    fn finish(mut self) -> Outcome {
        let duration_ns = self.now();
        self.stats.duration_ms = duration_ns / 1_000_000;
        self.stats.messages_routed_per_s = self.routed as f64 / (duration_ns.max(1) as f64 / 1e9);
        if let Some(e) = self.journal.error.take() {
            self.cut_short.get_or_insert(e);
        }
        let nodes = (0..self.n)
            .map(|i| {
                let s = &self.nodes[i];
                NodeReport {
                    id: self.names[i].clone(),
                    pids: s.pids.clone(),
                    incarnations: s.incarnation,
                    stderr_log: s.log.clone(),
                    exit: s.exit.clone().unwrap_or_else(|| "unknown".into()),
                    messages_sent: s.sent,
                }
            })
            .collect();
        Outcome {
            events: std::mem::take(&mut self.events),
            messages: std::mem::take(&mut self.journal.stats),
            stats: std::mem::take(&mut self.stats),
            problems: std::mem::take(&mut self.problems),
            nodes,
            faults: std::mem::take(&mut self.faults),
            cut_short: self.cut_short.take(),
            client_start_ns: self.client_start_ns,
            client_names: self.conns.iter().map(|(k, c)| (c.process, format!("c{k}"))).collect(),
        }
    }
}

//! Adya's direct serialization graphs, by brute force: for every subset of
//! the info transactions taken as committed, a depth-first search over the
//! version orders the reads allow, generated as total orders of the writers
//! (every version order without a write cycle is one), skipping orders that
//! differ only by swapping adjacent writers with no key in common. Each
//! placement fixes the next version of the keys its transaction writes, and
//! with it `ww` edges and the `rw` edges of that version's predecessor's
//! readers; `wr` edges are known from the values read. Edges only accumulate
//! down a branch, so a model whose proscribed cycle is already present is
//! dropped from the branch.

use super::history::{TxnOutcome, Val, Workload};
use super::prep::{bits, Mask, Prep};
use super::{Decision, Method, Model, OracleError, MAX_SEARCH_NODES, MAX_TXNS};

const N: usize = MAX_TXNS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dm {
    Ru,
    Rc,
    Cv,
    Rr,
    Ser,
    Strict,
    SessionSer,
    Si,
    StrongSi,
    SessionSi,
}

const DMS: [Dm; 10] =
    [Dm::Ru, Dm::Rc, Dm::Cv, Dm::Rr, Dm::Ser, Dm::Strict, Dm::SessionSer, Dm::Si, Dm::StrongSi, Dm::SessionSi];

impl Dm {
    fn of(m: Model) -> Option<Dm> {
        Some(match m {
            Model::ReadUncommitted => Dm::Ru,
            Model::ReadCommitted => Dm::Rc,
            Model::ConsistentView => Dm::Cv,
            Model::RepeatableRead => Dm::Rr,
            Model::Serializable => Dm::Ser,
            Model::StrictSerializable => Dm::Strict,
            Model::StrongSessionSerializable => Dm::SessionSer,
            Model::SnapshotIsolation => Dm::Si,
            Model::StrongSnapshotIsolation => Dm::StrongSi,
            Model::StrongSessionSnapshotIsolation => Dm::SessionSi,
            Model::ReadAtomic | Model::Causal => return None,
        })
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }

    /// Proscribes G1a and G1b.
    fn no_g1ab(self) -> bool {
        self != Dm::Ru
    }

    /// Holds reads after own writes to INT (Elle: proscribes `internal`).
    fn int(self) -> bool {
        matches!(self, Dm::Ser | Dm::Strict | Dm::SessionSer | Dm::Si | Dm::StrongSi | Dm::SessionSi)
    }

    /// Extra order edges in the graph.
    fn extra(self) -> Extra {
        match self {
            Dm::Strict | Dm::StrongSi => Extra::RealTime,
            Dm::SessionSer | Dm::SessionSi => Extra::Process,
            _ => Extra::None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Extra {
    None,
    RealTime,
    Process,
}

/// A read, as the search needs it.
struct ReadFact {
    key: usize,
    /// Its value without the values of uncommitted writers: it must be a
    /// prefix of the key's committed versions (list-append only).
    committed: Vec<Val>,
}

/// What a subset of committed transactions fixes before any version order.
struct Facts {
    writers: Mask,
    /// Out-edges by kind.
    wr: [Mask; N],
    rt: [Mask; N],
    po: [Mask; N],
    /// Key of each `wr` edge, for witnesses.
    wr_key: [[u8; N]; N],
    /// Per key: the readers of the initial version.
    readers_init: Vec<Mask>,
    /// Per key, per transaction: the readers of that transaction's version.
    readers_of: Vec<[Mask; N]>,
    /// A G1a or G1b read, described.
    g1ab: Option<String>,
    /// A register read after an own write that is not that write (INT).
    int_bad: Option<String>,
    lists: Vec<ReadFact>,
}

#[derive(Clone)]
struct State {
    placed: Mask,
    last: Option<usize>,
    ww: [Mask; N],
    rw: [Mask; N],
    ww_key: [[u8; N]; N],
    rw_key: [[u8; N]; N],
    /// Per key: the writers in version order.
    vo: Vec<Vec<usize>>,
    /// Per key: the committed list (list-append).
    chain: Vec<Vec<Val>>,
    /// Some list read after an own append is not what the version order gives.
    int_bad: Option<String>,
}

fn closure(adj: &[Mask; N], n: usize) -> [Mask; N] {
    let mut r = *adj;
    for k in 0..n {
        for i in 0..n {
            if r[i] & (1 << k) != 0 {
                r[i] |= r[k];
            }
        }
    }
    r
}

fn cyclic(reach: &[Mask; N], n: usize) -> bool {
    (0..n).any(|i| reach[i] & (1 << i) != 0)
}

/// A shortest cycle in `adj`, as the nodes in order (the first repeated at the end).
fn find_cycle(adj: &[Mask; N], n: usize) -> Option<Vec<usize>> {
    let mut best: Option<Vec<usize>> = None;
    for s in 0..n {
        for j in bits(adj[s]).filter(|&j| j < n) {
            if let Some(back) = shortest_path(adj, n, j, s) {
                if best.as_ref().is_none_or(|b| b.len() > back.len() + 1) {
                    best = Some(std::iter::once(s).chain(back).collect());
                }
            }
        }
    }
    best
}

struct Search<'a, 'h> {
    p: &'a Prep<'h>,
    f: Facts,
    wanted: u16,
    nodes: u64,
    found: [Option<String>; 10],
    /// The first proscribed phenomenon each model met.
    first: [Option<String>; 10],
    /// The first way a version order failed to explain the reads.
    mismatch: Option<String>,
}

impl<'a, 'h> Search<'a, 'h> {
    fn key_label(&self, k: u8) -> String {
        if k == 0 {
            String::new()
        } else {
            format!(" {}", self.p.key_name(k as usize - 1))
        }
    }

    fn d(&self, st: &State, extra: Extra) -> [Mask; N] {
        let order = match extra {
            Extra::None => [0; N],
            Extra::RealTime => self.f.rt,
            Extra::Process => self.f.po,
        };
        std::array::from_fn(|i| st.ww[i] | self.f.wr[i] | order[i])
    }

    /// The proscribed cycle of model `m` in the current graph, described.
    fn violation(&self, st: &State, m: Dm) -> Option<String> {
        let n = self.p.n;
        if m == Dm::Ru {
            // Read-uncommitted proscribes only write cycles.
            let reach = closure(&st.ww, n);
            return cyclic(&reach, n)
                .then(|| self.describe(st, "G0", Extra::None, &find_cycle(&st.ww, n).unwrap_or_default(), None));
        }
        let d = self.d(st, m.extra());
        let reach_d = closure(&d, n);
        if cyclic(&reach_d, n) {
            return Some(self.describe(st, "G1c", m.extra(), &find_cycle(&d, n).unwrap_or_default(), None));
        }
        match m {
            Dm::Ru | Dm::Rc => None,
            Dm::Cv => {
                for a in 0..n {
                    for b in bits(st.rw[a]) {
                        if reach_d[b] & (1 << a) != 0 {
                            // a -rw-> b, then the ww/wr path from b back to a.
                            let mut path = shortest_path(&d, n, b, a).unwrap_or_default();
                            path.insert(0, a);
                            return Some(self.describe(st, "G-single", m.extra(), &path, Some((a, b))));
                        }
                    }
                }
                None
            }
            Dm::Rr | Dm::Ser | Dm::Strict | Dm::SessionSer => {
                let all: [Mask; N] = std::array::from_fn(|i| d[i] | st.rw[i]);
                if !cyclic(&closure(&all, n), n) {
                    return None;
                }
                Some(self.describe(st, "G2-item", m.extra(), &find_cycle(&all, n).unwrap_or_default(), None))
            }
            Dm::Si | Dm::StrongSi | Dm::SessionSi => {
                // R = D ; rw?: a cycle in R is one without two adjacent rw edges.
                let mut r = d;
                for i in 0..n {
                    for j in bits(d[i]) {
                        r[i] |= st.rw[j];
                    }
                }
                if !cyclic(&closure(&r, n), n) {
                    return None;
                }
                let cycle = find_cycle(&r, n).unwrap_or_default();
                // Expand each R step into its D edge and optional rw edge.
                let mut path = cycle.first().copied().into_iter().collect::<Vec<_>>();
                for w in cycle.windows(2) {
                    let (i, j) = (w[0], w[1]);
                    if d[i] & (1 << j) == 0 {
                        if let Some(m) = bits(d[i]).find(|&m| st.rw[m] & (1 << j) != 0) {
                            path.push(m);
                        }
                    }
                    path.push(j);
                }
                Some(self.describe(st, "G-nonadjacent", m.extra(), &path, None))
            }
        }
    }

    /// `G-single: T1 -rw 5-> T2 -wr 6-> T1`, the name taking Elle's
    /// `-realtime` or `-process` suffix when the cycle uses such an edge.
    /// `rw_first` forces the label of the first edge.
    fn describe(
        &self,
        st: &State,
        base: &str,
        extra: Extra,
        path: &[usize],
        rw_first: Option<(usize, usize)>,
    ) -> String {
        let Some(start) = path.first() else { return base.to_string() };
        let mut steps = String::new();
        let mut ordered = false;
        for (i, w) in path.windows(2).enumerate() {
            let (a, b) = (w[0], w[1]);
            let has = |m: &[Mask; N]| m[a] & (1 << b) != 0;
            let (kind, key) = if i == 0 && rw_first == Some((a, b)) {
                ("rw", st.rw_key[a][b])
            } else if has(&st.ww) {
                ("ww", st.ww_key[a][b])
            } else if has(&self.f.wr) {
                ("wr", self.f.wr_key[a][b])
            } else if extra == Extra::RealTime && has(&self.f.rt) {
                ordered = true;
                ("realtime", 0)
            } else if extra == Extra::Process && has(&self.f.po) {
                ordered = true;
                ("process", 0)
            } else {
                ("rw", st.rw_key[a][b])
            };
            steps.push_str(&format!(" -{kind}{}-> T{b}", self.key_label(key)));
        }
        let suffix = match (ordered, extra) {
            (true, Extra::RealTime) => "-realtime",
            (true, Extra::Process) => "-process",
            _ => "",
        };
        format!("{base}{suffix}: T{start}{steps}")
    }

    /// Places writer `w` next: extends its keys' version orders.
    fn place(&mut self, st: &mut State, w: usize) {
        let p = self.p;
        st.placed |= 1 << w;
        st.last = Some(w);
        for (k, ws) in &p.writes[w] {
            let k = *k;
            let label = k as u8 + 1;
            let readers = match st.vo[k].last() {
                Some(&prev) => {
                    st.ww[prev] |= 1 << w;
                    if st.ww_key[prev][w] == 0 {
                        st.ww_key[prev][w] = label;
                    }
                    self.f.readers_of[k][prev]
                }
                None => self.f.readers_init[k],
            };
            for r in bits(readers & !(1 << w)) {
                st.rw[r] |= 1 << w;
                if st.rw_key[r][w] == 0 {
                    st.rw_key[r][w] = label;
                }
            }
            if p.workload == Workload::ListAppend {
                // INT: a read after own appends sees the previous version
                // plus those appends.
                if st.int_bad.is_none() {
                    for r in p.int_reads.iter().filter(|r| r.txn == w && r.key == k) {
                        let mut want = st.chain[k].clone();
                        want.extend_from_slice(&ws[..r.own_before]);
                        if want != r.value {
                            st.int_bad = Some(format!(
                                "{} should return {} after version order {} (internal)",
                                p.show_read(w, r.mop),
                                p.show(&want),
                                self.vo_text(&st.vo[k])
                            ));
                            break;
                        }
                    }
                }
                st.chain[k].extend_from_slice(ws);
            }
            st.vo[k].push(w);
        }
    }

    fn vo_text(&self, vo: &[usize]) -> String {
        if vo.is_empty() {
            return "(none)".into();
        }
        vo.iter().map(|t| format!("T{t}")).collect::<Vec<_>>().join(" ")
    }

    /// Whether every list read is still a prefix of its key's committed
    /// list; `complete` also requires it to be no longer.
    fn explains(&mut self, st: &State, complete: bool) -> bool {
        for (i, r) in self.f.lists.iter().enumerate() {
            let chain = &st.chain[r.key];
            let n = chain.len().min(r.committed.len());
            if chain[..n] != r.committed[..n] || (complete && r.committed.len() > chain.len()) {
                if self.mismatch.is_none() {
                    // List facts are built one per external read, in order.
                    let er = &self.p.ext_reads[i];
                    self.mismatch = Some(format!(
                        "{} is not a prefix of key {}'s committed versions under version order {} ({})",
                        self.p.show_read(er.txn, er.mop),
                        self.p.key_name(r.key),
                        self.vo_text(&st.vo[r.key]),
                        self.p.show(chain)
                    ));
                }
                return false;
            }
        }
        true
    }

    fn dfs(&mut self, st: &State, alive: u16) -> Result<(), OracleError> {
        self.nodes += 1;
        if self.nodes > MAX_SEARCH_NODES {
            return Err(OracleError::TooLarge {
                what: "search nodes",
                found: self.nodes as usize,
                limit: MAX_SEARCH_NODES as usize,
            });
        }
        if st.placed == self.f.writers {
            if !self.explains(st, true) {
                return Ok(());
            }
            for m in DMS {
                if alive & self.wanted & m.bit() != 0 {
                    let vos: Vec<String> = (0..self.p.keys.len())
                        .filter(|&k| !st.vo[k].is_empty())
                        .map(|k| format!("key {}: {}", self.p.key_name(k), self.vo_text(&st.vo[k])))
                        .collect();
                    self.found[m as usize] = Some(format!("version order {}", vos.join("; ")));
                }
            }
            self.wanted &= !alive;
            return Ok(());
        }
        for w in bits(self.f.writers & !st.placed) {
            if alive & self.wanted == 0 {
                return Ok(());
            }
            // Orders that only swap adjacent writers with no key in common
            // give the same version order: keep the one with ids ascending.
            if let Some(u) = st.last {
                if u > w && self.p.write_keys[u] & self.p.write_keys[w] == 0 {
                    continue;
                }
            }
            if let Some(c) = super::keys::breaks(&self.p.key_order, w, st.placed) {
                // The version order would break a key assumption.
                let after = c.after.map_or("the initial nil".to_string(), |a| format!("T{a}'s"));
                let why = format!(
                    "T{w}'s version of key {} must precede {after} ({}), not follow it",
                    self.p.key_name(c.key),
                    c.why
                );
                for m in DMS {
                    if alive & self.wanted & m.bit() != 0 {
                        self.first[m as usize].get_or_insert_with(|| why.clone());
                    }
                }
                continue;
            }
            let mut next = st.clone();
            self.place(&mut next, w);
            if !self.explains(&next, false) {
                continue;
            }
            let mut child = 0u16;
            for m in DMS {
                if alive & self.wanted & m.bit() == 0 {
                    continue;
                }
                let why =
                    if m.int() && next.int_bad.is_some() { next.int_bad.clone() } else { self.violation(&next, m) };
                match why {
                    None => child |= m.bit(),
                    Some(why) => {
                        self.first[m as usize].get_or_insert(why);
                    }
                }
            }
            if child != 0 {
                self.dfs(&next, child)?;
            }
        }
        Ok(())
    }
}

fn shortest_path(adj: &[Mask; N], n: usize, from: usize, to: usize) -> Option<Vec<usize>> {
    let mut prev = [usize::MAX; N];
    let mut seen: Mask = 1 << from;
    let mut queue = std::collections::VecDeque::from([from]);
    while let Some(i) = queue.pop_front() {
        if i == to {
            let mut path = vec![to];
            let mut x = to;
            while x != from {
                x = prev[x];
                path.push(x);
            }
            path.reverse();
            return Some(path);
        }
        for j in bits(adj[i]) {
            if j < n && seen & (1 << j) == 0 {
                seen |= 1 << j;
                prev[j] = i;
                queue.push_back(j);
            }
        }
    }
    None
}

/// What the subset `committed` fixes, or why no version order can explain
/// some read whatever the subset.
fn facts(p: &Prep, committed: Mask) -> Result<Facts, String> {
    let n = p.n;
    let nk = p.keys.len();
    let mut f = Facts {
        writers: (0..n).filter(|&t| committed & (1 << t) != 0 && p.write_keys[t] != 0).fold(0, |m, t| m | 1 << t),
        wr: [0; N],
        rt: [0; N],
        po: [0; N],
        wr_key: [[0; N]; N],
        readers_init: vec![0; nk],
        readers_of: vec![[0; N]; nk],
        g1ab: None,
        int_bad: None,
        lists: Vec::new(),
    };
    for b in bits(committed) {
        for a in bits(p.rt_pred[b] & committed) {
            f.rt[a] |= 1 << b;
        }
        for a in bits(p.po_pred[b] & committed) {
            f.po[a] |= 1 << b;
        }
    }
    let is_in = |t: usize| committed & (1 << t) != 0;
    // Every read of a committed transaction, before or after its own writes,
    // must hold only values some transaction wrote, each once, and is an
    // aborted read (G1a) if it holds one of a transaction that did not commit.
    let structure = |t: usize, k: usize, mop: usize, value: &[Val], g1ab: &mut Option<String>| {
        for (i, v) in value.iter().enumerate() {
            if value[..i].contains(v) {
                return Err(format!("{} holds {v} twice (duplicate-elements)", p.show_read(t, mop)));
            }
            let Some(w) = p.writer.get(&(k, *v)) else {
                return Err(format!("{} returns {v}, which no transaction wrote", p.show_read(t, mop)));
            };
            if !is_in(w.txn) && g1ab.is_none() {
                let how = if p.outcome[w.txn] == TxnOutcome::Fail { "failed" } else { "is taken as not committed" };
                *g1ab = Some(format!("G1a: {} sees {v}, written by T{}, which {how}", p.show_read(t, mop), w.txn));
            }
        }
        Ok(())
    };
    for r in &p.int_reads {
        let (t, k) = (r.txn, r.key);
        let own = &p.writes_to(t, k)[..r.own_before];
        // What the transaction saw of others: a list without its own
        // appends at the end, a register value that is not its own write.
        let others: &[Val] = match p.workload {
            Workload::ListAppend => r.value.strip_suffix(own).unwrap_or(&r.value),
            Workload::RwRegister if r.value.last() == own.last() => &[],
            Workload::RwRegister => &r.value,
        };
        let others: Vec<Val> = others.iter().copied().filter(|v| !own.contains(v)).collect();
        structure(t, k, r.mop, &r.value, &mut f.g1ab)?;
        if let Some(w) = others.last().map(|v| p.writer[&(k, *v)]) {
            if w.txn != t && is_in(w.txn) && !w.last && f.g1ab.is_none() {
                f.g1ab = Some(format!("G1b: {} sees a version T{} overwrote", p.show_read(t, r.mop), w.txn));
            }
        }
    }
    for r in &p.ext_reads {
        let (t, k) = (r.txn, r.key);
        structure(t, k, r.mop, &r.value, &mut f.g1ab)?;
        let committed_part: Vec<Val> = r.value.iter().copied().filter(|v| is_in(p.writer[&(k, *v)].txn)).collect();
        match r.value.last() {
            None => f.readers_init[k] |= 1 << t,
            Some(v) => {
                let w = p.writer[&(k, *v)];
                if is_in(w.txn) {
                    f.wr[w.txn] |= 1 << t;
                    if f.wr_key[w.txn][t] == 0 {
                        f.wr_key[w.txn][t] = k as u8 + 1;
                    }
                    if w.last {
                        f.readers_of[k][w.txn] |= 1 << t;
                    } else if f.g1ab.is_none() {
                        f.g1ab = Some(format!(
                            "G1b: {} sees {v}, which T{} overwrote in the same transaction",
                            p.show_read(t, r.mop),
                            w.txn
                        ));
                    }
                }
            }
        }
        if p.workload == Workload::ListAppend {
            f.lists.push(ReadFact { key: k, committed: committed_part });
        }
    }
    if p.workload == Workload::RwRegister {
        for r in &p.int_reads {
            let own = p.writes_to(r.txn, r.key)[r.own_before - 1];
            if r.value != [own] {
                f.int_bad = Some(format!("{} should return its own write {own} (internal)", p.show_read(r.txn, r.mop)));
                break;
            }
        }
    }
    Ok(f)
}

/// Decides `models` (those this search knows; others are ignored).
pub(crate) fn decide(p: &Prep, models: &[Model]) -> Result<Vec<Decision>, OracleError> {
    let mine: Vec<(Model, Dm)> = models.iter().filter_map(|&m| Dm::of(m).map(|d| (m, d))).collect();
    let mut wanted: u16 = mine.iter().fold(0, |w, (_, d)| w | d.bit());
    let mut found: [Option<String>; 10] = Default::default();
    let mut first: [Option<String>; 10] = Default::default();
    let mut mismatch: Option<String> = None;
    let mut nodes = 0;
    // Info transactions whose writes some ok transaction read come first:
    // they are the likeliest to have committed.
    let observed: Mask = p
        .ext_reads
        .iter()
        .flat_map(|r| r.value.iter().filter_map(move |v| p.writer.get(&(r.key, *v)).map(|w| w.txn)))
        .fold(0, |m, t| m | 1 << t)
        & p.info;
    let infos: Vec<usize> = bits(p.info).collect();
    let mut subsets: Vec<Mask> = vec![observed];
    for i in 0..(1u32 << infos.len()) {
        let s = infos.iter().enumerate().filter(|(j, _)| i & (1 << j) != 0).fold(0, |m, (_, &t)| m | 1 << t);
        if s != observed {
            subsets.push(s);
        }
    }
    let mut unexplained = None;
    for subset in subsets {
        if wanted == 0 {
            break;
        }
        let f = match facts(p, p.ok | subset) {
            Ok(f) => f,
            Err(why) => {
                unexplained = Some(why);
                break;
            }
        };
        let mut alive = wanted;
        for (_, d) in &mine {
            let why = if d.no_g1ab() && f.g1ab.is_some() {
                f.g1ab.clone()
            } else if d.int() && f.int_bad.is_some() {
                f.int_bad.clone()
            } else {
                None
            };
            if let Some(why) = why {
                alive &= !d.bit();
                first[*d as usize].get_or_insert(why);
            }
        }
        if alive == 0 {
            continue;
        }
        let nk = p.keys.len();
        let root = State {
            placed: 0,
            last: None,
            ww: [0; N],
            rw: [0; N],
            ww_key: [[0; N]; N],
            rw_key: [[0; N]; N],
            vo: vec![Vec::new(); nk],
            chain: vec![Vec::new(); nk],
            int_bad: None,
        };
        let mut s =
            Search { p, f, wanted: alive, nodes, found: Default::default(), first: Default::default(), mismatch: None };
        // The empty graph can already hold a cycle (wr edges, real time).
        let mut root_alive = alive;
        for (_, d) in &mine {
            if root_alive & d.bit() != 0 {
                if let Some(why) = s.violation(&root, *d) {
                    root_alive &= !d.bit();
                    s.first[*d as usize].get_or_insert(why);
                }
            }
        }
        if root_alive != 0 {
            s.dfs(&root, root_alive)?;
        }
        nodes = s.nodes;
        for (_, d) in &mine {
            let i = *d as usize;
            if let Some(w) = s.found[i].take() {
                let info: Vec<usize> = bits(subset).collect();
                let note = if p.info == 0 {
                    String::new()
                } else {
                    let names = |ts: Vec<usize>| {
                        if ts.is_empty() {
                            "none".to_string()
                        } else {
                            ts.iter().map(|t| format!("T{t}")).collect::<Vec<_>>().join(" ")
                        }
                    };
                    let out: Vec<usize> = bits(p.info & !subset).collect();
                    format!("; info committed: {}; info not committed: {}", names(info), names(out))
                };
                found[i] = Some(format!("{w}{note}"));
                wanted &= !d.bit();
            }
            if first[i].is_none() {
                first[i] = s.first[i].take();
            }
        }
        if mismatch.is_none() {
            mismatch = s.mismatch.take();
        }
    }
    Ok(mine
        .into_iter()
        .map(|(model, d)| {
            let i = d as usize;
            let (allowed, explanation) = match (&found[i], &unexplained, &first[i], &mismatch) {
                (Some(w), _, _, _) => (true, w.clone()),
                (None, Some(u), _, _) => (false, format!("no version order explains the reads: {u}")),
                (None, None, Some(why), _) => (
                    false,
                    format!("every version order compatible with the reads has a proscribed phenomenon; the first found: {why}"),
                ),
                (None, None, None, Some(m)) => (false, format!("no version order is compatible with the reads: e.g. {m}")),
                (None, None, None, None) => (false, "no version order is compatible with the reads".into()),
            };
            Decision { model, method: Method::Dsg, allowed, explanation }
        })
        .collect())
}

//! Jepsen's performance plots, drawn with `plotters` into SVG:
//! `latency-raw.svg` (every op's latency over time, coloured by outcome,
//! shaped by `f`), `latency-quantiles.svg` (p50/p95/p99/max of ok ops per
//! time window) and `rate.svg` (completions per second per `f` and outcome).
//! Fault periods are shaded by kind, with a legend; latency is on a log
//! axis. Each plot is a pure function of [`Timing`], the timed ops of one or
//! several runs. Overlaid runs' faults are not drawn one over another (forty
//! seeds' partitions cover the whole axis): each time bucket is shaded by
//! the share of the runs under that fault kind then ([`Shade::share`]).

use checker::{History, Outcome};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_backend::{BackendCoord, DrawingErrorKind};
use std::collections::BTreeMap;
use workloads::metrics::{windows, FaultWindow};

/// Plot size in pixels.
const SIZE: (u32, u32) = (900, 420);
/// Points drawn in the raw plot at most: beyond it every n-th op is drawn
/// (an SVG of many more is slow to open), and the caption says so.
pub const MAX_POINTS: usize = 20_000;
/// Time windows of the quantile and rate plots.
const WINDOWS: usize = 60;
/// Time buckets over which overlaid runs' fault periods are counted.
const FAULT_BUCKETS: usize = 120;
/// Steps of the share of runs under a fault: each shade's share is rounded
/// up to a tenth, so that a fault of one run in many still shows and
/// neighbouring buckets of about the same share make one rectangle.
const SHARE_STEPS: f64 = 10.0;

/// One op with times, as the plots see it.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedOp {
    pub f: String,
    pub outcome: Outcome,
    /// Invoke time, from the start of the run.
    pub start_ns: i64,
    /// Completion time; `None` for an op that never completed (not drawn:
    /// it has no latency and no completion to count).
    pub end_ns: Option<i64>,
}

/// A period shaded for a fault kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Shade {
    pub window: FaultWindow,
    /// The share of the runs under this fault kind during the period: 1 for
    /// one history's faults; for overlaid runs, the mean over runs of the
    /// part of the period each spent under it, rounded up to a tenth.
    pub share: f64,
}

/// The timed ops and fault periods of one or several runs on a shared
/// time axis (each run's times measured from its own start).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timing {
    /// Names the plots: a file, or a protocol and its seeds.
    pub title: String,
    pub ops: Vec<TimedOp>,
    pub faults: Vec<Shade>,
    /// The end of the time axis.
    pub end_ns: i64,
    /// How many runs are overlaid (1 for one history).
    pub runs: usize,
}

impl Timing {
    /// The client ops of `h` (final reads excluded: they are not load), with
    /// times measured from its first timed event. `None` when some op has
    /// no invoke time: such a history has no time axis to plot on.
    pub fn of_history(title: &str, h: &History) -> Option<Timing> {
        let ops: Vec<_> = h.ops.iter().filter(|o| !o.is_final).collect();
        if ops.is_empty() || ops.iter().any(|o| o.invoke_time_ns.is_none()) {
            return None;
        }
        let times =
            ops.iter().flat_map(|o| [o.invoke_time_ns, o.complete_time_ns]).chain(h.faults.iter().map(|f| f.time_ns));
        let t0 = times.clone().flatten().min().unwrap_or(0);
        let t1 = times.flatten().max().unwrap_or(0);
        let rel = |t: i64| t.saturating_sub(t0);
        let end_ns = rel(t1);
        let nemesis =
            h.faults.iter().map(|f| (f.f.as_str(), f.kind == checker::EventType::Invoke, rel(f.time_ns.unwrap_or(t0))));
        Some(Timing {
            title: title.to_string(),
            ops: ops
                .iter()
                .map(|o| TimedOp {
                    f: o.f.to_string(),
                    outcome: o.outcome,
                    start_ns: rel(o.invoke_time_ns.unwrap_or(t0)),
                    end_ns: o.complete_time_ns.map(rel),
                })
                .collect(),
            faults: windows(nemesis, end_ns).into_iter().map(|window| Shade { window, share: 1.0 }).collect(),
            end_ns,
            runs: 1,
        })
    }

    /// Several runs overlaid on one time axis (e.g. a protocol's seeds),
    /// their faults shaded by the share of runs under each kind (see
    /// [`shares`]).
    pub fn overlay(title: &str, runs: impl IntoIterator<Item = Timing>) -> Timing {
        let mut all = Timing { title: title.to_string(), ..Timing::default() };
        let mut faults = Vec::new();
        for t in runs {
            all.ops.extend(t.ops);
            all.end_ns = all.end_ns.max(t.end_ns);
            all.runs += t.runs;
            faults.push(t.faults);
        }
        all.faults = shares(&faults, all.runs, all.end_ns);
        all
    }

    fn fs(&self) -> Vec<&str> {
        let mut fs: Vec<&str> = self.ops.iter().map(|o| o.f.as_str()).collect();
        fs.sort_unstable();
        fs.dedup();
        fs
    }

    fn end_s(&self) -> f64 {
        (self.end_ns as f64 / 1e9).max(1e-6)
    }
}

/// The three plots with their file names.
pub fn all(t: &Timing) -> [(&'static str, String); 3] {
    [("latency-raw.svg", latency_raw(t)), ("latency-quantiles.svg", latency_quantiles(t)), ("rate.svg", rate(t))]
}

/// The three plots of one protocol's seeds overlaid (runs without a history
/// are left out), for a comparison's per-protocol folder.
pub fn seeds_overlay(protocol: &str, runs: &[runner::run::Finished]) -> [(&'static str, String); 3] {
    let each = runs.iter().filter_map(|f| Timing::of_history("", f.history.as_ref()?));
    all(&Timing::overlay(&format!("{protocol}, {} seeds", runs.len()), each))
}

/// The shading of several runs' faults: per kind and per [`FAULT_BUCKETS`]
/// time bucket of `0..end_ns`, the mean over the `runs` of the part of the
/// bucket each spent under that kind (weighted by the shades' own shares),
/// rounded up to a tenth; neighbouring buckets of one share merged. Sorted
/// by start, then kind.
pub fn shares(per_run: &[Vec<Shade>], runs: usize, end_ns: i64) -> Vec<Shade> {
    let bucket_ns = end_ns.max(1) as f64 / FAULT_BUCKETS as f64;
    let mut kinds: Vec<&str> = per_run.iter().flatten().map(|s| s.window.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let mut out = Vec::new();
    for kind in kinds {
        let mut cover = vec![0.0f64; FAULT_BUCKETS];
        for run in per_run {
            let mut mine = vec![0.0f64; FAULT_BUCKETS];
            for s in run.iter().filter(|s| s.window.kind == kind) {
                let (a, b) = (s.window.start_ns as f64, s.window.end_ns.max(s.window.start_ns) as f64);
                let first = ((a / bucket_ns) as usize).min(FAULT_BUCKETS - 1);
                let last = ((b / bucket_ns) as usize).min(FAULT_BUCKETS - 1);
                for (i, m) in mine.iter_mut().enumerate().take(last + 1).skip(first) {
                    let (lo, hi) = (i as f64 * bucket_ns, (i + 1) as f64 * bucket_ns);
                    // An instantaneous fault still marks its bucket a little.
                    let part = ((b.min(hi) - a.max(lo)) / bucket_ns).max(if a == b { 0.01 } else { 0.0 });
                    *m += part * s.share;
                }
            }
            // Overlapping periods of one kind in one run count once.
            for (c, m) in cover.iter_mut().zip(mine) {
                *c += m.min(1.0);
            }
        }
        let step = |c: f64| (c / runs.max(1) as f64 * SHARE_STEPS - 1e-6).ceil().clamp(0.0, SHARE_STEPS) / SHARE_STEPS;
        let mut i = 0;
        while i < FAULT_BUCKETS {
            let share = step(cover[i]);
            let mut j = i + 1;
            while j < FAULT_BUCKETS && step(cover[j]) == share {
                j += 1;
            }
            if share > 0.0 {
                let at = |b: usize| ((b as f64 * bucket_ns).round() as i64).min(end_ns);
                out.push(Shade {
                    window: FaultWindow { kind: kind.to_string(), start_ns: at(i), end_ns: at(j) },
                    share,
                });
            }
            i = j;
        }
    }
    out.sort_by(|x, y| (x.window.start_ns, &x.window.kind).cmp(&(y.window.start_ns, &y.window.kind)));
    out
}

pub(crate) type Chart<'a, 'b, Y> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Y>>;
pub(crate) type Result<T> = std::result::Result<T, Box<dyn std::error::Error + 'static>>;

/// Pixels right of a time plot kept for its legend, so that the legend
/// never covers points (a run's final burst of ops sits at the right edge).
const LEGEND_W: u32 = 170;

/// What a legend entry shows before its text.
#[derive(Clone, Copy)]
enum Mark {
    /// A filled square: a fault kind's shade.
    Swatch(RGBAColor),
    /// The `shape`-th marker in a colour: an `f` and outcome.
    Marker(usize, RGBColor),
    /// A short line: a quantile.
    Line(RGBColor),
    /// Nothing: a note on the entries above.
    Note,
}

/// A time plot's legend entries, in drawing order.
type Legend = Vec<(String, Mark)>;

/// Renders a time plot of the usual size: `draw` fills the plot area and
/// returns its legend, which is drawn in a column right of it.
fn svg(draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<Legend>) -> String {
    svg_of(SIZE, |root| {
        let (plot, side) = root.split_horizontally(SIZE.0 - LEGEND_W);
        let legend = draw(&plot)?;
        let style = TextStyle::from(("sans-serif", 11).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        for (i, (text, mark)) in legend.iter().enumerate() {
            let y = 44 + 16 * i as i32;
            match *mark {
                Mark::Swatch(c) => side.draw(&Rectangle::new([(2, y - 5), (14, y + 5)], c.filled()))?,
                Mark::Marker(shape, c) => side.draw(&marker(shape, (8, y), c))?,
                Mark::Line(c) => side.draw(&PathElement::new([(1, y), (15, y)], c.stroke_width(2)))?,
                Mark::Note => {}
            }
            side.draw(&Text::new(text.clone(), (20, y), style.clone()))?;
        }
        Ok(())
    })
}

/// Renders with `draw` into an SVG string of `size` pixels; a drawing
/// error (none is known to happen with a string backend) becomes an SVG
/// that says so.
pub(crate) fn svg_of(size: (u32, u32), draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<()>) -> String {
    let mut out = String::new();
    let failed = {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        let r = root.fill(&WHITE).map_err(Into::into).and_then(|_| draw(&root)).and_then(|_| Ok(root.present()?));
        r.err().map(|e| e.to_string())
    };
    match failed {
        None => out,
        Some(e) => format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"40\"><text x=\"4\" y=\"20\">plot failed: {}</text></svg>\n",
            size.0,
            crate::escape::escape(&e)
        ),
    }
}

fn outcome_colour(o: Outcome) -> RGBColor {
    match o {
        Outcome::Ok => RGBColor(0x1f, 0x77, 0xb4),
        Outcome::Info => RGBColor(0xff, 0x8c, 0x00),
        Outcome::Fail => RGBColor(0xd6, 0x27, 0x28),
    }
}

/// Legend order: ok, info, fail.
fn outcome_rank(o: Outcome) -> u8 {
    match o {
        Outcome::Ok => 0,
        Outcome::Info => 1,
        Outcome::Fail => 2,
    }
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Info => "info",
        Outcome::Fail => "fail",
    }
}

/// Shading of each fault kind, in sorted order of kinds.
const FAULT_COLOURS: [RGBColor; 6] = [
    RGBColor(0xf4, 0xa5, 0xa5),
    RGBColor(0xb3, 0xd9, 0xa0),
    RGBColor(0xc9, 0xb3, 0xe6),
    RGBColor(0xf7, 0xd9, 0x8b),
    RGBColor(0x9e, 0xd3, 0xe6),
    RGBColor(0xd9, 0xd9, 0xd9),
];

/// The shading of the `i`-th fault kind (in sorted order), as `#rrggbb`:
/// the timeline uses the plots' colours.
pub fn fault_colour(i: usize) -> String {
    let RGBColor(r, g, b) = FAULT_COLOURS[i % FAULT_COLOURS.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Opacity of a fault's shading for the share of runs under it: a whole
/// run's fault is as dark as it always was, a tenth of the runs' faint.
fn shade_alpha(share: f64) -> f64 {
    0.06 + 0.39 * share
}

/// Shades every fault period over the plot's height, darker where more of
/// the overlaid runs were under it, one legend entry per kind.
fn shade_faults<'a, 'b: 'a, Y: Ranged<ValueType = f64>>(
    c: &mut Chart<'a, 'b, Y>,
    t: &Timing,
    lo: f64,
    hi: f64,
) -> Result<Legend> {
    let mut legend = vec![];
    let mut kinds: Vec<&str> = t.faults.iter().map(|s| s.window.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for (i, kind) in kinds.iter().enumerate() {
        let base = FAULT_COLOURS[i % FAULT_COLOURS.len()];
        let rects = t.faults.iter().filter(|s| s.window.kind == *kind).map(move |s| {
            let x0 = s.window.start_ns as f64 / 1e9;
            let x1 = (s.window.end_ns as f64 / 1e9).max(x0);
            Rectangle::new([(x0, lo), (x1, hi)], base.mix(shade_alpha(s.share)).filled())
        });
        c.draw_series(rects)?;
        legend.push((format!("fault: {kind}"), Mark::Swatch(base.mix(shade_alpha(1.0)))));
    }
    if t.runs > 1 && !kinds.is_empty() {
        legend.push((format!("(darker: more of {} runs)", t.runs), Mark::Note));
    }
    Ok(legend)
}

/// The outline of the `shape`-th marker (circle, triangle, square, plus,
/// then again), in pixels around its centre: one polygon type for every
/// shape, so that a series and its legend entry draw the same.
fn outline(shape: usize) -> Vec<(i32, i32)> {
    match shape % 4 {
        0 => vec![(-1, -3), (1, -3), (3, -1), (3, 1), (1, 3), (-1, 3), (-3, 1), (-3, -1)],
        1 => vec![(0, -4), (4, 3), (-4, 3)],
        2 => vec![(-3, -3), (3, -3), (3, 3), (-3, 3)],
        _ => vec![
            (-1, -4),
            (1, -4),
            (1, -1),
            (4, -1),
            (4, 1),
            (1, 1),
            (1, 4),
            (-1, 4),
            (-1, 1),
            (-4, 1),
            (-4, -1),
            (-1, -1),
        ],
    }
}

/// A marker of the `shape`-th kind at `at`: a filled polygon of a fixed
/// size in pixels wherever `at` lands.
struct Marker<C> {
    at: C,
    shape: usize,
    style: ShapeStyle,
}

fn marker<C>(shape: usize, at: C, colour: RGBColor) -> Marker<C> {
    Marker { at, shape, style: colour.mix(0.75).filled() }
}

impl<'b, C> PointCollection<'b, C> for &'b Marker<C> {
    type Point = &'b C;
    type IntoIter = std::iter::Once<&'b C>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<C, DB: DrawingBackend> Drawable<DB> for Marker<C> {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut at: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> std::result::Result<(), DrawingErrorKind<DB::ErrorType>> {
        match at.next() {
            Some((x, y)) => {
                backend.fill_polygon(outline(self.shape).into_iter().map(|(dx, dy)| (x + dx, y + dy)), &self.style)
            }
            None => Ok(()),
        }
    }
}

/// A log latency axis from the nearest power of ten below the least
/// latency to the one above the greatest, in milliseconds.
fn log_range_ms(latencies_ms: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = latencies_ms.fold((f64::INFINITY, 0.0f64), |(lo, hi), l| (lo.min(l), hi.max(l)));
    if !lo.is_finite() {
        return (0.1, 10.0);
    }
    let lo = 10f64.powf(lo.max(1e-4).log10().floor());
    // Headroom above the greatest, so that no point sits on the frame.
    let hi = 10f64.powf((hi * 1.2).max(lo * 10.0).log10().ceil());
    let hi = if hi <= lo { lo * 10.0 } else { hi };
    // Just outside the powers of ten: plotters ticks the powers of ten
    // inside the range, and 0.1's logarithm (-0.99999…) rounds up past its
    // own, so an axis from 0.1 ms had no tick below 1 ms.
    (lo * (1.0 - 1e-9), hi * (1.0 + 1e-9))
}

/// `0.01`, `0.5`, `20`, `1000`: a latency tick without trailing zeros.
/// A window's length for a caption: whole milliseconds from 10 ms, two
/// decimals below, microseconds under 10 µs (a short history's windows).
fn window_text(ms: f64) -> String {
    match ms {
        ms if ms >= 10.0 => format!("{ms:.0} ms"),
        ms if ms >= 0.01 => format!("{} ms", tick_label((ms * 100.0).round() / 100.0)),
        ms => format!("{:.0} µs", ms * 1e3),
    }
}

fn ms_label(v: &f64) -> String {
    tick_label(*v)
}

/// A tick's number to four decimals without trailing zeros.
pub(crate) fn tick_label(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn latency_ms(o: &TimedOp) -> Option<f64> {
    o.end_ns.map(|e| ((e - o.start_ns).max(0) as f64 / 1e6).max(1e-4))
}

/// The series' legend, in the upper right corner.
pub(crate) fn legend<'a, 'b: 'a, Y: Ranged<ValueType = f64>>(c: &mut Chart<'a, 'b, Y>) -> Result<()> {
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 11))
        .draw()?;
    Ok(())
}

/// A chart of latency (log, `lo..hi` ms) over the run's time, its axes
/// drawn and its fault periods shaded.
fn latency_chart<'a, 'b: 'a>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: String,
    t: &Timing,
    lo: f64,
    hi: f64,
) -> Result<(Chart<'a, 'b, LogCoord<f64>>, Legend)> {
    let mut c = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 15))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..t.end_s(), (lo..hi).log_scale())?;
    c.configure_mesh()
        .x_desc("time (s)")
        .y_desc("latency (ms, log)")
        .y_label_formatter(&ms_label)
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    let legend = shade_faults(&mut c, t, lo, hi)?;
    Ok((c, legend))
}

/// Every completed op's latency at its invoke time: colour by outcome,
/// shape by `f`, on a log axis.
pub fn latency_raw(t: &Timing) -> String {
    let drawn: Vec<&TimedOp> = t.ops.iter().filter(|o| o.end_ns.is_some()).collect();
    let stride = drawn.len().div_ceil(MAX_POINTS).max(1);
    let note = if stride > 1 { format!(" (every {stride}th of {} ops)", drawn.len()) } else { String::new() };
    let (lo, hi) = log_range_ms(drawn.iter().filter_map(|o| latency_ms(o)));
    let fs = t.fs();
    svg(|root| {
        let (mut c, mut legend) = latency_chart(root, format!("{}: latency of every op{note}", t.title), t, lo, hi)?;
        for (shape, f) in fs.iter().enumerate() {
            for outcome in [Outcome::Ok, Outcome::Info, Outcome::Fail] {
                let points: Vec<(f64, f64)> = drawn
                    .iter()
                    .step_by(stride)
                    .filter(|o| o.f == *f && o.outcome == outcome)
                    .filter_map(|o| Some((o.start_ns as f64 / 1e9, latency_ms(o)?)))
                    .collect();
                if points.is_empty() {
                    continue;
                }
                let colour = outcome_colour(outcome);
                c.draw_series(points.into_iter().map(|p| marker(shape, p, colour)))?;
                legend.push((format!("{f} {}", outcome_name(outcome)), Mark::Marker(shape, colour)));
            }
        }
        Ok(legend)
    })
}

/// Window `i` of [`WINDOWS`] over the run, for a time in ns.
fn window_of(t: &Timing, ns: i64) -> usize {
    let end = t.end_ns.max(1) as f64;
    ((ns.max(0) as f64 / end * WINDOWS as f64) as usize).min(WINDOWS - 1)
}

fn window_mid_s(t: &Timing, i: usize) -> f64 {
    (i as f64 + 0.5) * t.end_s() / WINDOWS as f64
}

/// Contiguous runs of windows that have a value, each a line.
fn segments(values: &[Option<f64>], t: &Timing) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![];
    let mut cur = vec![];
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => cur.push((window_mid_s(t, i), *v)),
            None if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

const QUANTILES: [(&str, f64, RGBColor); 4] = [
    ("p50", 0.5, RGBColor(0x2c, 0xa0, 0x2c)),
    ("p95", 0.95, RGBColor(0x1f, 0x77, 0xb4)),
    ("p99", 0.99, RGBColor(0x94, 0x67, 0xbd)),
    ("max", 1.0, RGBColor(0xd6, 0x27, 0x28)),
];

/// p50, p95, p99 and the maximum latency of the ok ops invoked in each time
/// window, on a log axis.
pub fn latency_quantiles(t: &Timing) -> String {
    let mut per: Vec<Vec<f64>> = vec![vec![]; WINDOWS];
    for o in t.ops.iter().filter(|o| o.outcome == Outcome::Ok) {
        if let Some(l) = latency_ms(o) {
            per[window_of(t, o.start_ns)].push(l);
        }
    }
    for w in &mut per {
        w.sort_by(f64::total_cmp);
    }
    let (lo, hi) = log_range_ms(per.iter().flatten().copied());
    let window_ms = t.end_s() * 1e3 / WINDOWS as f64;
    svg(|root| {
        let title = format!("{}: latency quantiles of ok ops per {} window", t.title, window_text(window_ms));
        let (mut c, mut legend) = latency_chart(root, title, t, lo, hi)?;
        for (name, q, colour) in QUANTILES {
            let values: Vec<Option<f64>> =
                per.iter().map(|w| (!w.is_empty()).then(|| w[(((w.len() - 1) as f64) * q).round() as usize])).collect();
            for seg in segments(&values, t) {
                c.draw_series(LineSeries::new(seg, colour.stroke_width(2)).point_size(2))?;
            }
            legend.push((name.to_string(), Mark::Line(colour)));
        }
        Ok(legend)
    })
}

/// Completions per second in each time window, per `f` and outcome:
/// colour by outcome, marker by `f`.
pub fn rate(t: &Timing) -> String {
    let fs = t.fs();
    let window_s = t.end_s() / WINDOWS as f64;
    let mut counts: BTreeMap<(usize, u8), (Outcome, Vec<u64>)> = BTreeMap::new();
    for o in &t.ops {
        let Some(end) = o.end_ns else { continue };
        let fi = fs.binary_search(&o.f.as_str()).unwrap_or(0);
        counts.entry((fi, outcome_rank(o.outcome))).or_insert_with(|| (o.outcome, vec![0; WINDOWS])).1
            [window_of(t, end)] += 1;
    }
    let hi = counts.values().flat_map(|(_, n)| n).map(|&n| n as f64 / window_s).fold(0.0f64, f64::max).max(1.0) * 1.1;
    svg(|root| {
        let mut c = ChartBuilder::on(root)
            .caption(format!("{}: throughput per {} window", t.title, window_text(window_s * 1e3)), ("sans-serif", 15))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..t.end_s(), 0.0..hi)?;
        c.configure_mesh()
            .x_desc("time (s)")
            .y_desc("completions (ops/s)")
            .y_label_formatter(&|v| format!("{v:.0}"))
            .light_line_style(BLACK.mix(0.04))
            .draw()?;
        let mut legend = shade_faults(&mut c, t, 0.0, hi)?;
        for (&(fi, _), (outcome, n)) in &counts {
            let outcome = *outcome;
            let colour = outcome_colour(outcome);
            let points: Vec<(f64, f64)> =
                n.iter().enumerate().map(|(i, &n)| (window_mid_s(t, i), n as f64 / window_s)).collect();
            c.draw_series(LineSeries::new(points.clone(), colour.mix(0.8).stroke_width(1)))?;
            c.draw_series(points.into_iter().map(|p| marker(fi, p, colour)))?;
            legend.push((format!("{} {}", fs[fi], outcome_name(outcome)), Mark::Marker(fi, colour)));
        }
        Ok(legend)
    })
}

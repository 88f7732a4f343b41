//! Bar charts of a comparison's numbers with `plotters` (SVG backend): a
//! group per protocol, a horizontal bar per series, each labelled with its
//! value; a value axis with ticks and its unit, a legend. (The plots over
//! time are `plot`'s.)

use crate::plot::svg_of;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use runner::compare::Row;

/// Chart width in pixels; the height grows with the rows.
const WIDTH: u32 = 760;
/// Pixels per bar (a unit of the y axis).
const BAR_PX: f64 = 14.0;
/// The y axis's units between groups, and above them for the legend.
const GAP: f64 = 0.6;
const LEGEND_BAND: f64 = 3.6;
/// Pixels of the chart outside the plotting area: margins, caption, x axis.
const FRAME_PX: f64 = 86.0;
/// Pixels left of the bars for the protocols' names.
const NAMES_PX: u32 = 110;

/// Horizontal bars: a group per row (top to bottom in the rows' order), a
/// bar per series (none, labelled "-", where `value` has none), on an axis
/// from 0 to past the largest value, or to past `cap` (100 for a
/// percentage: no tick beyond it), its ticks formatted with `unit`.
fn bars(
    title: &str,
    axis: &str,
    rows: &[Row],
    series: &[(&str, RGBColor)],
    value: impl Fn(&Row, usize) -> Option<f64>,
    unit: &str,
    cap: Option<f64>,
) -> String {
    let per_group = series.len() as f64 + GAP;
    let groups = rows.len().max(1) as f64;
    let units = groups * per_group + LEGEND_BAND;
    let height = (FRAME_PX + units * BAR_PX).round() as u32;
    let largest = rows.iter().flat_map(|r| (0..series.len()).filter_map(|i| value(r, i))).fold(0.0f64, f64::max);
    // Headroom past the longest bar for its value's label.
    let x_max = (cap.unwrap_or(largest) * 1.18).max(1e-3);
    // Group `j`'s bar `i` spans [top - i - 0.9, top - i - 0.1] on the y
    // axis, the first group at the top, under the legend's band.
    let bar_y = |j: usize, i: usize| {
        let top = (groups - j as f64) * per_group - GAP / 2.0;
        (top - i as f64 - 0.9, top - i as f64 - 0.1)
    };
    svg_of((WIDTH, height), |root| {
        let mut c = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 15))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(NAMES_PX)
            .build_cartesian_2d(0.0..x_max, 0.0..units)?;
        c.configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(axis)
            .x_label_formatter(&|v| match cap {
                Some(cap) if *v > cap + 1e-9 => String::new(),
                _ => format!("{}{unit}", crate::plot::tick_label(*v)),
            })
            .light_line_style(BLACK.mix(0.04))
            .draw()?;
        for (i, (name, colour)) in series.iter().enumerate() {
            let colour = *colour;
            let rects = rows.iter().enumerate().filter_map(|(j, r)| {
                let (y0, y1) = bar_y(j, i);
                Some(Rectangle::new([(0.0, y0), (value(r, i)?.max(0.0), y1)], colour.filled()))
            });
            c.draw_series(rects)?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
            let style = TextStyle::from(("sans-serif", 11).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
            let labels = rows.iter().enumerate().map(|(j, r)| {
                let (y0, y1) = bar_y(j, i);
                let (at, text) = match value(r, i) {
                    Some(v) => (v.max(0.0), format!("{v:.1}{unit}")),
                    None => (0.0, "-".to_string()),
                };
                Text::new(text, (at + x_max * 0.005, (y0 + y1) / 2.0), style.clone())
            });
            c.draw_series(labels)?;
        }
        // The protocols' names, right-aligned left of their groups.
        let style = TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
        for (j, r) in rows.iter().enumerate() {
            let (lo, _) = bar_y(j, series.len() - 1);
            let (_, hi) = bar_y(j, 0);
            let (x, y) = c.backend_coord(&(0.0, (lo + hi) / 2.0));
            root.draw(&Text::new(r.protocol.clone(), (x - 6, y), style.clone()))?;
        }
        crate::plot::legend(&mut c)
    })
}

/// p50 and p99 latency of ok ops per protocol.
pub fn latency_bars(rows: &[Row]) -> String {
    bars(
        "latency of ok ops per protocol",
        "latency (ms)",
        rows,
        &[("p50", RGBColor(0x64, 0xb5, 0xf6)), ("p99", RGBColor(0x15, 0x65, 0xc0))],
        |r, i| Some(if i == 0 { r.latency_ms_p50 } else { r.latency_ms_p99 }),
        " ms",
        None,
    )
}

/// Availability overall and during faults per protocol (no bar during
/// faults for a protocol whose runs had none).
pub fn availability_bars(rows: &[Row]) -> String {
    bars(
        "share of ops that succeeded per protocol",
        "ops that succeeded (%)",
        rows,
        &[("overall", RGBColor(0x66, 0xbb, 0x6a)), ("during faults", RGBColor(0xef, 0x6c, 0x00))],
        |r, i| Some(100.0 * if i == 0 { r.availability } else { r.availability_during_faults? }),
        "%",
        Some(100.0),
    )
}

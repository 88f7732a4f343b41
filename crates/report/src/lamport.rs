//! Lamport (message-flow) diagrams of a [`Flow`]: a vertical lane per
//! participant, time flowing down, an arrow per message from its send to
//! its delivery (a drop ends in a cross, a message still in flight runs
//! off the bottom dashed), client ops as bars on their lanes, faults as
//! shaded bands across the diagram. Anomalous ops and their messages are
//! drawn red.
//!
//! The time axis is ordinal, as in Lamport's drawings: every distinct
//! instant gets its own row, labelled with its time, so that a burst of
//! messages within a microsecond stays readable and causality (a delivery
//! below its send) stays visible. Pure: a [`Flow`] in, SVG or HTML out.

use crate::escape::escape;
use std::collections::BTreeMap;
use std::fmt::Write;
use workloads::flow::{Flow, FlowEnd};

const TOP: f64 = 44.0;
const ROW: f64 = 16.0;
const LEFT: f64 = 92.0;
const LANE: f64 = 110.0;
const RED: &str = "#b3261e";
const GREY: &str = "#555";

/// One diagram as an SVG document.
pub fn svg(flow: &Flow) -> String {
    let rows = rows(flow);
    let y = |t: i64| TOP + ROW * rows.get(&t).copied().unwrap_or(0) as f64;
    let bottom = TOP + ROW * rows.len().max(1) as f64;
    let x = |lane: usize| LEFT + LANE * (lane as f64 + 0.5);
    let width = LEFT + LANE * flow.lanes.len().max(1) as f64 + 20.0;
    let height = bottom + 30.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"lamport\" width=\"{width:.0}\" height=\"{height:.0}\" \
         font-family=\"monospace\" font-size=\"10\">\n\
         <defs>{}{}</defs>\n\
         <text x=\"4\" y=\"14\" font-size=\"12\">{}</text>\n",
        marker("arr", GREY),
        marker("arr-red", RED),
        escape(&flow.title)
    );
    for f in &flow.faults {
        let (y0, y1) = (y(f.start_ns.max(flow.start_ns)), f.end_ns.map_or(bottom, y));
        let _ = writeln!(
            s,
            "<rect x=\"{LEFT}\" y=\"{y0:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#fbe9c6\" opacity=\"0.6\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#8a5a00\" text-anchor=\"end\">{}</text>",
            width - LEFT - 20.0,
            (y1 - y0).max(2.0),
            width - 22.0,
            y0 + 10.0,
            escape(&f.label)
        );
    }
    for (i, name) in flow.lanes.iter().enumerate() {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"34\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\
             <line x1=\"{0:.1}\" y1=\"{TOP}\" x2=\"{0:.1}\" y2=\"{bottom:.1}\" stroke=\"#bbb\"/>",
            x(i),
            escape(name)
        );
    }
    // Time labels: every row's instant, in ms since the run started.
    for (t, r) in &rows {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#888\" text-anchor=\"end\">{:.3} ms</text>",
            LEFT - 6.0,
            TOP + ROW * *r as f64 + 3.0,
            *t as f64 / 1e6
        );
    }
    for sp in &flow.spans {
        let (y0, y1) = (y(sp.start_ns), sp.end_ns.map_or(bottom, y));
        let colour = if sp.highlight { RED } else { "#4a7bd0" };
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{y0:.1}\" width=\"6\" height=\"{:.1}\" fill=\"{colour}\" opacity=\"0.8\">\
             <title>{}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" fill=\"{colour}\">{}</text>",
            x(sp.lane) - 3.0,
            (y1 - y0).max(3.0),
            escape(&sp.label),
            x(sp.lane) + 6.0,
            y0 - 3.0,
            escape(&short(&sp.label, 24))
        );
    }
    for m in &flow.messages {
        let (x0, y0) = (x(m.from), y(m.sent_ns));
        let (colour, arrow) = if m.highlight { (RED, "arr-red") } else { (GREY, "arr") };
        let tip = escape(&format!("{} {} → {}", m.label, flow.lanes[m.from], flow.lanes[m.to]));
        match &m.end {
            FlowEnd::Delivered { at_ns } => {
                let (x1, y1) = (x(m.to), y(*at_ns));
                let _ = writeln!(
                    s,
                    "<line x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x1:.1}\" y2=\"{y1:.1}\" stroke=\"{colour}\" \
                     marker-end=\"url(#{arrow})\"><title>{tip}</title></line>{}",
                    label(m.label.as_str(), (x0 + x1) / 2.0, (y0 + y1) / 2.0, colour)
                );
            }
            FlowEnd::Dropped { at_ns, reason } => {
                // Halfway to its destination, then a cross.
                let (x1, y1) = ((x0 + x(m.to)) / 2.0, y(*at_ns).max(y0 + ROW / 2.0));
                let _ = writeln!(
                    s,
                    "<line x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x1:.1}\" y2=\"{y1:.1}\" stroke=\"{colour}\" \
                     stroke-dasharray=\"3,2\"><title>{tip}: dropped ({})</title></line>\
                     <path d=\"M{:.1},{:.1}l8,8m0,-8l-8,8\" stroke=\"{RED}\" stroke-width=\"2\"/>{}",
                    escape(reason),
                    x1 - 4.0,
                    y1 - 4.0,
                    label(&format!("{} ✗ {reason}", m.label), x1, y1 - 6.0, colour)
                );
            }
            FlowEnd::InFlight => {
                let x1 = x(m.to);
                let _ = writeln!(
                    s,
                    "<line x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x1:.1}\" y2=\"{bottom:.1}\" stroke=\"{colour}\" \
                     stroke-dasharray=\"6,3\"><title>{tip}: still in flight</title></line>{}",
                    label(&m.label, (x0 + x1) / 2.0, (y0 + bottom) / 2.0, colour)
                );
            }
        }
    }
    if flow.omitted_messages > 0 {
        let _ = writeln!(
            s,
            "<text x=\"4\" y=\"{:.1}\" fill=\"{GREY}\">{} more messages in this window are not drawn</text>",
            bottom + 20.0,
            flow.omitted_messages
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The HTML section of a report page: a heading and one diagram per flow,
/// or nothing when there are none.
pub fn section(flows: &[Flow]) -> String {
    if flows.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "<h2>Message flow around each anomaly</h2>\n<p>Lanes are clients, nodes and services; time runs down \
         (a row per instant). Red: the anomaly's ops and their messages. ✗: dropped. Shaded: a fault in force.</p>\n",
    );
    for f in flows {
        let _ = writeln!(s, "<div class=\"flow\" style=\"overflow-x:auto\">{}</div>", svg(f));
    }
    s
}

/// Row of each distinct instant, in time order.
fn rows(flow: &Flow) -> BTreeMap<i64, usize> {
    let mut times: Vec<i64> = Vec::new();
    for m in &flow.messages {
        times.push(m.sent_ns);
        match m.end {
            FlowEnd::Delivered { at_ns } | FlowEnd::Dropped { at_ns, .. } => times.push(at_ns),
            FlowEnd::InFlight => {}
        }
    }
    for sp in &flow.spans {
        times.push(sp.start_ns);
        times.extend(sp.end_ns);
    }
    for f in &flow.faults {
        times.push(f.start_ns.max(flow.start_ns));
        times.extend(f.end_ns);
    }
    times.sort_unstable();
    times.dedup();
    times.into_iter().enumerate().map(|(r, t)| (t, r)).collect()
}

fn marker(id: &str, colour: &str) -> String {
    format!(
        "<marker id=\"{id}\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" \
         orient=\"auto\"><path d=\"M0,0L8,4L0,8z\" fill=\"{colour}\"/></marker>"
    )
}

fn label(text: &str, x: f64, y: f64, colour: &str) -> String {
    format!(
        "<text x=\"{x:.1}\" y=\"{:.1}\" fill=\"{colour}\" text-anchor=\"middle\">{}</text>",
        y - 2.0,
        escape(&short(text, 28))
    )
}

/// At most `n` characters, an ellipsis marking a cut.
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(std::iter::once('…')).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect_file;
    use workloads::flow::{FlowFault, FlowMessage, FlowSpan};

    /// A read served from a node cut off by a partition: the client's
    /// request and reply (red), a gossip lost to the partition, a service
    /// round trip, and a message still in flight at the end.
    fn stale_read() -> Flow {
        let mut f = Flow { title: "linearizable not-linearizable on key \"x\" <&>".into(), ..Flow::default() };
        let (c, n0, n1, kv) = (f.lane("c3"), f.lane("n0"), f.lane("n1"), f.lane("lin-kv"));
        let ms = 1_000_000;
        let msg = |from, to, sent_ns, end, label: &str, highlight| FlowMessage {
            from,
            to,
            sent_ns,
            end,
            label: label.into(),
            highlight,
        };
        f.messages = vec![
            msg(c, n1, 10 * ms, FlowEnd::Delivered { at_ns: 11 * ms }, "read {\"key\":\"x\"}", true),
            msg(n0, n1, 10 * ms, FlowEnd::Dropped { at_ns: 12 * ms, reason: "partition".into() }, "gossip", false),
            msg(n1, kv, 12 * ms, FlowEnd::Delivered { at_ns: 13 * ms }, "ts", false),
            msg(kv, n1, 13 * ms, FlowEnd::Delivered { at_ns: 14 * ms }, "ts_ok {\"ts\":7}", false),
            msg(n1, c, 15 * ms, FlowEnd::Delivered { at_ns: 16 * ms }, "read_ok {\"value\":1}", true),
            msg(n1, n0, 16 * ms, FlowEnd::InFlight, "gossip", false),
        ];
        f.spans = vec![FlowSpan {
            lane: c,
            start_ns: 10 * ms,
            end_ns: Some(16 * ms),
            label: "read \"x\" → 1 (ok)".into(),
            highlight: true,
        }];
        f.faults = vec![FlowFault { start_ns: 9 * ms, end_ns: None, label: "partition halves".into() }];
        f.omitted_messages = 3;
        f.start_ns = 9 * ms;
        f.end_ns = 17 * ms;
        f
    }

    #[test]
    fn a_stale_read_under_a_partition_is_drawn() {
        let s = svg(&stale_read());
        expect_file!["snapshots/lamport.svg"].assert_eq(&s);
    }

    #[test]
    fn rows_follow_time_and_every_instant_has_one() {
        let f = stale_read();
        let r = rows(&f);
        // 9 (fault), 10..=16 ms: eight instants, in order.
        assert_eq!(r.len(), 8);
        assert!(r.iter().all(|(t, row)| (t / 1_000_000 - 9) as usize == *row));
        assert!(svg(&f).contains("&lt;&amp;&gt;"), "titles are escaped");
        assert!(svg(&f).contains("3 more messages"));
    }

    #[test]
    fn a_section_has_one_diagram_per_flow_and_none_without_flows() {
        assert_eq!(section(&[]), "");
        let s = section(&[stale_read(), stale_read()]);
        assert_eq!(s.matches("<svg").count(), 2);
        assert!(s.starts_with("<h2>Message flow"));
    }
}

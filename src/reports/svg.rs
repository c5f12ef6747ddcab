//! Charts for the dashboard, drawn on the server as SVG. Each chart is an image with a title and
//! a description (its text alternative), every bar carries its value as text and its label (no
//! meaning by colour alone), and a bar with a link opens the tickets behind it.

/// One bar: its label, its value, the value as people read it, and where a click goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
    pub href: Option<String>,
}

/// Escapes text for HTML and SVG.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const INK: &str = "#17324d";
const BAR: &str = "#0066cc";
const GRID: &str = "#c5cfd9";

/// `img` for a picture; `group` when its bars are links, since an image's content is hidden
/// from assistive technology and its links would be unreachable (axe: nested-interactive).
fn chart_role(rows: &[Bar]) -> &'static str {
    if rows.iter().any(|r| r.href.is_some()) { "group" } else { "img" }
}

fn link(bar: &Bar, inner: &str) -> String {
    let name = escape(&format!("{}: {}", bar.label, bar.shown));
    match &bar.href {
        Some(href) => format!("<a href=\"{}\" aria-label=\"{name}\">{inner}</a>", escape(href)),
        None => format!("<g aria-label=\"{name}\">{inner}</g>"),
    }
}

/// Horizontal bars, one per row, label on the left and value on the right. `max`: the value of
/// a full-width bar (1.0 for shares; the largest value for counts); `no_data`: what an empty
/// chart says, in the reader's language.
pub fn bars(id: &str, title: &str, description: &str, rows: &[Bar], max: f64, no_data: &str) -> String {
    let (label_w, bar_w, value_w, row_h) = (190.0, 360.0, 170.0, 30.0);
    let width = label_w + bar_w + value_w;
    let height = 12.0 + row_h * rows.len().max(1) as f64;
    let role = chart_role(rows);
    let mut svg = format!(
        "<svg id=\"{id}\" role=\"{role}\" aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\" \
         font-family=\"system-ui, sans-serif\" font-size=\"14\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        escape(title),
        escape(description)
    );
    if rows.is_empty() {
        svg.push_str(&format!("<text x=\"0\" y=\"24\" fill=\"{INK}\">{}</text>", escape(no_data)));
    }
    let scale = if max > 0.0 { bar_w / max } else { 0.0 };
    for (i, row) in rows.iter().enumerate() {
        let y = 6.0 + row_h * i as f64;
        let w = (row.value.max(0.0) * scale).clamp(0.0, bar_w);
        let inner = format!(
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" fill=\"{INK}\">{label}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{bar_w}\" height=\"20\" fill=\"none\" stroke=\"{GRID}\"/>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"20\" fill=\"{BAR}\"/>\
             <text x=\"{vx}\" y=\"{ty}\" fill=\"{INK}\">{shown}</text>",
            lx = label_w - 8.0,
            ty = y + 15.0,
            label = escape(&row.label),
            vx = label_w + bar_w + 8.0,
            shown = escape(&row.shown),
        );
        svg.push_str(&link(row, &inner));
    }
    svg.push_str("</svg>");
    svg
}

/// Columns over time (one per day), with the largest value marked on the axis and each
/// column's value in its accessible name and tooltip.
pub fn columns(id: &str, title: &str, description: &str, columns: &[Bar]) -> String {
    let (left, top, plot_h, bottom) = (40.0, 10.0, 180.0, 40.0);
    let col_w = (640.0 / columns.len().max(1) as f64).clamp(6.0, 40.0);
    let width = left + col_w * columns.len().max(1) as f64 + 10.0;
    let height = top + plot_h + bottom;
    let max = columns.iter().map(|c| c.value).fold(0.0, f64::max);
    let role = chart_role(columns);
    let mut svg = format!(
        "<svg id=\"{id}\" role=\"{role}\" aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\" \
         font-family=\"system-ui, sans-serif\" font-size=\"12\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>\
         <line x1=\"{left}\" y1=\"{base}\" x2=\"{width}\" y2=\"{base}\" stroke=\"{INK}\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{width}\" y2=\"{top}\" stroke=\"{GRID}\" stroke-dasharray=\"4 3\"/>\
         <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" fill=\"{INK}\">{max}</text>\
         <text x=\"{lx}\" y=\"{base}\" text-anchor=\"end\" fill=\"{INK}\">0</text>",
        escape(title),
        escape(description),
        base = top + plot_h,
        lx = left - 6.0,
        ty = top + 4.0,
        max = max as i64,
    );
    for (i, c) in columns.iter().enumerate() {
        let x = left + col_w * i as f64;
        let h = if max > 0.0 { c.value.max(0.0) / max * plot_h } else { 0.0 };
        let y = top + plot_h - h;
        let mut inner = format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{BAR}\">\
             <title>{label}: {shown}</title></rect>",
            w = (col_w - 2.0).max(1.0),
            label = escape(&c.label),
            shown = escape(&c.shown),
        );
        // Under the axis: every day of a short stretch, else every seventh day (and the first).
        if columns.len() <= 10 || i % 7 == 0 {
            inner.push_str(&format!(
                "<text x=\"{x:.1}\" y=\"{ly}\" fill=\"{INK}\">{}</text>",
                escape(&c.label),
                ly = top + plot_h + 16.0
            ));
        }
        svg.push_str(&link(c, &inner));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_say_what_they_show_in_text() {
        let rows = [
            Bar { label: "Q".into(), value: 0.9, shown: "90.0%".into(), href: Some("/x?a=1&b=2".into()) },
            Bar { label: "<A>".into(), value: 1.5, shown: "150%".into(), href: None },
        ];
        let svg = bars("sla", "SLA", "Share met", &rows, 1.0, "No data");
        assert!(svg.contains("role=\"group\"") && svg.contains("<title id=\"sla-t\">SLA</title>"), "{svg}");
        assert!(svg.contains("aria-label=\"Q: 90.0%\"") && svg.contains("href=\"/x?a=1&amp;b=2\""), "{svg}");
        assert!(svg.contains("&lt;A&gt;") && !svg.contains("<A>"), "escaped: {svg}");
        assert!(svg.contains("width=\"360.0\" height=\"20\" fill=\"#0066cc\""), "capped at full width: {svg}");
        let empty = bars("e", "E", "none", &[], 1.0, "Nessun dato");
        assert!(empty.contains(">Nessun dato</text>"), "{empty}");
        let cols = columns("c", "Contacts", "per day", &rows);
        assert!(cols.contains("<title>Q: 90.0%</title>"), "{cols}");
    }
}

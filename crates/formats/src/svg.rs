//! Charts for the staff dashboard, rendered on the server as inline SVG.
//!
//! Server-side SVG needs no JavaScript, so the dashboard keeps its strict Content Security Policy:
//! the markup uses presentation attributes only (`fill="…"`), never `style` attributes or
//! `<style>` elements, which `style-src` without `'unsafe-inline'` would block. Charts carry no
//! width or height: they fill their container and keep their aspect ratio, so they read on a
//! 360 px phone and the page's stylesheet can cap them on a desktop (each has the class `chart`).
//!
//! Labels come from citizens and staff (job titles, article names), so every label is escaped
//! and can never become markup. Each chart is an image to assistive technology (`role="img"`)
//! with a title and a description that states the data in words, since the bars themselves say
//! nothing to a screen reader.

use std::fmt::Write as _;

use crate::xml::{escaped, push_escaped};

/// The view box width; the charts are drawn for this and scaled by the browser. Narrow enough
/// that 14-unit text stays legible when scaled down to a phone.
const WIDTH: f64 = 480.0;
const PAD: f64 = 16.0;
const FONT: &str =
    "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif";
const TEXT_COLOUR: &str = "#1f2937";
const MUTED_COLOUR: &str = "#6b7280";
const BAR_COLOUR: &str = "#2563eb";
const PEAK_COLOUR: &str = "#1e3a8a";
const GRID_COLOUR: &str = "#d1d5db";
const LABEL_SIZE: f64 = 14.0;
/// How many items the description lists before summarising the rest.
const DESCRIBED_ITEMS: usize = 30;

/// Horizontal bars, one per `(label, value)` in the order given, each label on its own line above
/// its bar so long Chinese labels (job titles, article names) need no shortening on a phone. A
/// label wider than the chart is cut with "…"; the full label stays in the bar's tooltip and in
/// the description.
pub fn bar_chart(title: &str, bars: &[(String, u64)]) -> String {
    let id = chart_id("bar", title, bars);
    if bars.is_empty() {
        return empty_chart(&id, "chart chart-bar", title);
    }
    let total = bars.iter().fold(0u128, |sum, (_, v)| sum + u128::from(*v));
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let (top_label, top_value) = bars.iter().max_by_key(|(_, v)| *v).map(|(l, v)| (l.as_str(), *v)).unwrap_or_default();
    let mut desc =
        format!("共 {} 项，合计 {}；最多的是“{}”（{}）。各项：", bars.len(), group(total), top_label, group(top_value));
    describe_items(&mut desc, bars);

    const ROW: f64 = 46.0;
    const BAR_HEIGHT: f64 = 16.0;
    const TOP: f64 = 44.0;
    let value_room = bars.iter().map(|(_, v)| text_width(&group(*v), LABEL_SIZE)).fold(0.0, f64::max) + 8.0;
    let bar_room = WIDTH - 2.0 * PAD - value_room;
    let height = TOP + ROW * bars.len() as f64 + PAD / 2.0;

    let mut svg = open_svg(&id, "chart chart-bar", height, title, &desc);
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let length = if max == 0 { 0.0 } else { bar_room * (*value as f64 / max as f64) };
        // A non-zero value always shows a sliver, so it is not mistaken for zero.
        let length = if *value > 0 { length.max(1.5) } else { 0.0 };
        let shown = fit_label(label, WIDTH - 2.0 * PAD, LABEL_SIZE);
        let _ = write!(svg, "<g><title>{}：{}</title>", escaped(label), group(*value));
        let _ = write!(
            svg,
            r#"<text x="{PAD}" y="{:.1}" font-size="{LABEL_SIZE}" fill="{TEXT_COLOUR}">{}</text>"#,
            y + 14.0,
            escaped(&shown)
        );
        let _ = write!(
            svg,
            r#"<rect x="{PAD}" y="{:.1}" width="{length:.1}" height="{BAR_HEIGHT}" rx="2" fill="{BAR_COLOUR}"/>"#,
            y + 20.0
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="{LABEL_SIZE}" fill="{TEXT_COLOUR}">{}</text></g>"#,
            PAD + length + 6.0,
            y + 20.0 + BAR_HEIGHT - 3.0,
            group(*value)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Comments per day as columns, with the first, last and busiest dates under the axis and the
/// busiest day's count at the top of the value axis. `points` are `(date, count)` in date order;
/// the dates are shown as given.
pub fn time_series(title: &str, points: &[(String, u64)]) -> String {
    let id = chart_id("time", title, points);
    if points.is_empty() {
        return empty_chart(&id, "chart chart-time", title);
    }
    let total = points.iter().fold(0u128, |sum, (_, v)| sum + u128::from(*v));
    // The first day with the highest count: `max_by_key` would pick the last.
    let (peak, (peak_date, max)) = points
        .iter()
        .enumerate()
        .fold((0, (&points[0].0, points[0].1)), |best, (i, (d, v))| if *v > best.1.1 { (i, (d, *v)) } else { best });
    let (first, last) = (&points[0].0, &points[points.len() - 1].0);
    let mut desc = if points.len() == 1 {
        format!("{first}，共 {} 条。", group(total))
    } else {
        format!("{first} 至 {last}，共 {} 天，合计 {} 条", points.len(), group(total))
    };
    if points.len() > 1 {
        if max > 0 {
            let _ = write!(desc, "；单日最多是 {peak_date}（{} 条）。", group(max));
        } else {
            desc.push('。');
        }
    }

    const HEIGHT: f64 = 260.0;
    const PLOT_TOP: f64 = 48.0;
    const PLOT_BOTTOM: f64 = HEIGHT - 36.0;
    let axis_labels = [group(max), "0".to_owned()];
    let left = PAD + axis_labels.iter().map(|l| text_width(l, 12.0)).fold(0.0, f64::max) + 6.0;
    let right = WIDTH - PAD;
    let plot_height = PLOT_BOTTOM - PLOT_TOP;
    let slot = (right - left) / points.len() as f64;
    let column = if slot >= 3.0 { slot * 0.8 } else { slot };

    let mut svg = open_svg(&id, "chart chart-time", HEIGHT, title, &desc);
    for (y, label) in [(PLOT_TOP, &axis_labels[0]), (PLOT_BOTTOM, &axis_labels[1])] {
        let _ = write!(
            svg,
            r#"<line x1="{left:.1}" y1="{y:.1}" x2="{right:.1}" y2="{y:.1}" stroke="{GRID_COLOUR}" stroke-width="1"/><text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end" fill="{MUTED_COLOUR}">{label}</text>"#,
            left - 6.0,
            y + 4.0
        );
    }
    for (i, (date, value)) in points.iter().enumerate() {
        let h = if max == 0 { 0.0 } else { plot_height * (*value as f64 / max as f64) };
        let x = left + slot * i as f64 + (slot - column) / 2.0;
        let fill = if i == peak && max > 0 { PEAK_COLOUR } else { BAR_COLOUR };
        let _ = write!(
            svg,
            r#"<rect x="{x:.2}" y="{:.2}" width="{column:.2}" height="{h:.2}" fill="{fill}"><title>{}：{}</title></rect>"#,
            PLOT_BOTTOM - h,
            escaped(date),
            group(*value)
        );
    }
    let label_y = PLOT_BOTTOM + 20.0;
    let date_label = |svg: &mut String, x: f64, anchor: &str, text: &str| {
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{label_y:.1}" font-size="12" text-anchor="{anchor}" fill="{MUTED_COLOUR}">{}</text>"#,
            escaped(&fit_label(text, (right - left) / 3.0, 12.0))
        );
    };
    date_label(&mut svg, left, "start", first);
    if points.len() > 1 {
        date_label(&mut svg, right, "end", last);
        // The busiest day is labelled under its column unless it would collide with the ends.
        let peak_x = left + slot * (peak as f64 + 0.5);
        let room = text_width(peak_date, 12.0) / 2.0 + text_width(first, 12.0).max(text_width(last, 12.0)) + 8.0;
        if max > 0 && peak_x - left > room && right - peak_x > room {
            date_label(&mut svg, peak_x, "middle", peak_date);
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A chart that says there is nothing to show, so an empty consultation never divides by zero
/// and the dashboard keeps its layout.
fn empty_chart(id: &str, class: &str, title: &str) -> String {
    let mut svg = open_svg(id, class, 120.0, title, "暂无数据");
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="82" font-size="{LABEL_SIZE}" text-anchor="middle" fill="{MUTED_COLOUR}">暂无数据</text></svg>"#,
        WIDTH / 2.0
    );
    svg
}

/// The opening `<svg>` with its accessible name and description and the visible title.
fn open_svg(id: &str, class: &str, height: f64, title: &str, desc: &str) -> String {
    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-labelledby="{id}-title {id}-desc" class="{class}" font-family="{FONT}">"#
    );
    let _ = write!(svg, r#"<title id="{id}-title">{}</title><desc id="{id}-desc">"#, escaped(title));
    push_escaped(&mut svg, desc);
    svg.push_str("</desc>");
    let _ = write!(
        svg,
        r#"<text x="{PAD}" y="26" font-size="16" font-weight="bold" fill="{TEXT_COLOUR}">{}</text>"#,
        escaped(&fit_label(title, WIDTH - 2.0 * PAD, 16.0))
    );
    svg
}

/// Ids must be unique in the page the chart is inlined into, or `aria-labelledby` would name the
/// wrong chart; a hash of the content makes them unique per chart yet stable between renders.
fn chart_id(kind: &str, title: &str, data: &[(String, u64)]) -> String {
    // FNV-1a: tiny, deterministic across runs and platforms (unlike `DefaultHasher`).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    };
    feed(kind.as_bytes());
    feed(title.as_bytes());
    for (label, value) in data {
        feed(label.as_bytes());
        feed(&value.to_le_bytes());
    }
    format!("yj-chart-{hash:016x}")
}

/// Lists items as "A 12；B 3" for the description, summarising past `DESCRIBED_ITEMS`.
fn describe_items(desc: &mut String, items: &[(String, u64)]) {
    for (i, (label, value)) in items.iter().take(DESCRIBED_ITEMS).enumerate() {
        if i > 0 {
            desc.push('；');
        }
        let _ = write!(desc, "{label} {}", group(*value));
    }
    if items.len() > DESCRIBED_ITEMS {
        let _ = write!(desc, "；另有 {} 项", items.len() - DESCRIBED_ITEMS);
    }
    desc.push('。');
}

/// Digits grouped by thousands, as the dashboard prints counts.
fn group(n: impl Into<u128>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Rough rendered width: a CJK or full-width character is one em, anything else about 0.6 em.
/// Good enough to keep labels inside the view box without measuring fonts on the server.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().map(|c| if is_wide(c) { 1.0 } else { 0.6 }).sum::<f64>() * size
}

fn is_wide(c: char) -> bool {
    matches!(c, '\u{1100}'..='\u{115F}' | '\u{2E80}'..='\u{A4CF}' | '\u{AC00}'..='\u{D7A3}' | '\u{F900}'..='\u{FAFF}' | '\u{FE30}'..='\u{FE4F}' | '\u{FF00}'..='\u{FF60}' | '\u{FFE0}'..='\u{FFE6}' | '\u{1F300}'..='\u{1FAFF}' | '\u{20000}'..='\u{3FFFD}')
}

/// `text` cut with "…" to fit `room` at font `size`; line breaks become spaces.
fn fit_label(text: &str, room: f64, size: f64) -> String {
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text_width(&text, size) <= room {
        return text;
    }
    let mut out = String::new();
    let mut width = size; // the ellipsis
    for c in text.chars() {
        width += if is_wide(c) { size } else { 0.6 * size };
        if width > room {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(group(0u64), "0");
        assert_eq!(group(999u64), "999");
        assert_eq!(group(1_000u64), "1,000");
        assert_eq!(group(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn long_labels_are_cut_to_fit() {
        let label = "街道社区网格化服务管理中心专职网格员（含兼职）及其他基层工作人员";
        let cut = fit_label(label, 200.0, 14.0);
        assert!(cut.ends_with('…') && text_width(&cut, 14.0) <= 200.0 + 14.0, "{cut}");
        assert_eq!(fit_label("短标签", 200.0, 14.0), "短标签");
        assert_eq!(fit_label("a\nb", 200.0, 14.0), "a b");
    }

    #[test]
    fn ids_differ_by_content_and_are_stable() {
        let a = chart_id("bar", "t", &[("x".into(), 1)]);
        assert_eq!(a, chart_id("bar", "t", &[("x".into(), 1)]));
        assert_ne!(a, chart_id("bar", "t", &[("x".into(), 2)]));
        assert_ne!(a, chart_id("time", "t", &[("x".into(), 1)]));
    }
}

//! startup.svg: each variant's median start over the native one, per program.

use std::fmt::Write as _;

use crate::stats::Stats;
use crate::{Kind, PROGRAMS, Samples, Variant};

/// One colour per variant, in the order they are measured.
const COLORS: [&str; 8] = [
    "#888888", "#bbbbbb", "#2a7ab0", "#d08a2c", "#b04040", "#5a9a50", "#8a5ab0", "#40a0a0",
];

/// A grouped bar chart of median / native median with 10–90 % whiskers.
pub fn plot(variants: &[Variant], samples: &[Vec<Samples>]) -> String {
    // The legend has three names a row: the names are long.
    let legend_rows = variants.len().div_ceil(3);
    let (w, h, left, top) = (760.0, 360.0, 60.0, 30.0);
    let bottom = 40.0 + 16.0 * legend_rows as f64;
    let native = variants
        .iter()
        .position(|v| v.kind == Kind::Native)
        .expect("the native variant is always measured");
    let native_medians: Vec<f64> = samples
        .iter()
        .map(|row| Stats::of(&row[native].wall_us).median)
        .collect();
    let max = samples
        .iter()
        .zip(&native_medians)
        .flat_map(|(row, n)| row.iter().map(move |s| Stats::of(&s.wall_us).p90 / n))
        .fold(1.2f64, f64::max)
        .min(4.0);
    let y = |ratio: f64| top + (h - top - bottom) * (1.0 - ratio / max);
    let mut s = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='12'>\n\
         <rect width='100%' height='100%' fill='white'/>\n\
         <text x='{left}' y='18' font-size='14'>Start-up time relative to the native loader (median, 10–90 %)</text>\n"
    );
    for tick in [0.5, 1.0, 1.5, 2.0, 3.0, 4.0]
        .into_iter()
        .filter(|t| *t <= max)
    {
        let ty = y(tick);
        let _ = writeln!(
            s,
            "<line x1='{left}' x2='{}' y1='{ty}' y2='{ty}' stroke='#ddd'/><text x='{}' y='{}' text-anchor='end'>{tick:.1}×</text>",
            w - 10.0,
            left - 6.0,
            ty + 4.0
        );
    }
    let group = (w - left - 10.0) / PROGRAMS.len() as f64;
    let bar = group / (variants.len() as f64 + 1.0);
    for (p, prog) in PROGRAMS.iter().enumerate() {
        let gx = left + p as f64 * group;
        let native = native_medians[p];
        for (v, cell) in samples[p].iter().enumerate() {
            let st = Stats::of(&cell.wall_us);
            let x = gx + bar * (v as f64 + 0.5);
            let (yt, yb) = (y(st.median / native), y(0.0));
            let _ = writeln!(
                s,
                "<rect x='{x:.1}' y='{yt:.1}' width='{:.1}' height='{:.1}' fill='{}'/>",
                bar * 0.9,
                yb - yt,
                COLORS[v % COLORS.len()]
            );
            let cx = x + bar * 0.45;
            let _ = writeln!(
                s,
                "<line x1='{cx:.1}' x2='{cx:.1}' y1='{:.1}' y2='{:.1}' stroke='black'/>",
                y((st.p10 / native).min(max)),
                y((st.p90 / native).min(max))
            );
        }
        let _ = writeln!(
            s,
            "<text x='{:.1}' y='{}' text-anchor='middle'>{}</text>",
            gx + group / 2.0,
            h - bottom + 18.0,
            prog.name
        );
    }
    for (v, variant) in variants.iter().enumerate() {
        let lx = left + (v % 3) as f64 * 230.0;
        let ly = h - bottom + 28.0 + (v / 3) as f64 * 16.0;
        let _ = writeln!(
            s,
            "<rect x='{lx}' y='{ly}' width='12' height='12' fill='{}'/><text x='{}' y='{}'>{}</text>",
            COLORS[v % COLORS.len()],
            lx + 16.0,
            ly + 10.0,
            variant.name
        );
    }
    s.push_str("</svg>\n");
    s
}

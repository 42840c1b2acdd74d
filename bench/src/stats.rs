//! Order statistics of the timing samples.

/// The median and the 10th and 90th percentiles of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub p10: f64,
    pub p90: f64,
}

impl Stats {
    /// Nearest-rank percentiles; `samples` must not be empty (the
    /// arguments refuse `--runs 0`).
    pub fn of(samples: &[f64]) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
        Stats {
            median: at(0.5),
            p10: at(0.1),
            p90: at(0.9),
        }
    }
}

/// What a loader adds to a start over a baseline variant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OwnCost {
    /// The loader's median minus the baseline's median.
    pub us: f64,
    /// 10th and 90th percentiles of the round-by-round difference.
    pub p10: f64,
    pub p90: f64,
}

/// `variant` and `baseline` hold one sample per round, in round order.
/// Every round starts every cell once, so the two samples of one round
/// saw the same machine state: their difference is the spread of the
/// loader's own cost, without the drift both cells share (which the
/// percentiles of each cell alone are mostly made of).
pub fn own_cost(variant: &[f64], baseline: &[f64]) -> OwnCost {
    assert_eq!(variant.len(), baseline.len(), "cells of different rounds");
    let diffs: Vec<f64> = variant.iter().zip(baseline).map(|(v, b)| v - b).collect();
    let spread = Stats::of(&diffs);
    OwnCost {
        us: Stats::of(variant).median - Stats::of(baseline).median,
        p10: spread.p10,
        p90: spread.p90,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let s: Vec<f64> = (0..=100).rev().map(f64::from).collect();
        assert_eq!(
            Stats::of(&s),
            Stats {
                median: 50.0,
                p10: 10.0,
                p90: 90.0
            }
        );
        assert_eq!(Stats::of(&[7.0]).median, 7.0);
    }

    #[test]
    fn own_cost_pairs_rounds() {
        // Both cells drift by the same amount from round to round; the
        // loader is always 10 µs slower, give or take 1.
        let baseline: Vec<f64> = (0..100).map(|r| 500.0 + f64::from(r) * 3.0).collect();
        let variant: Vec<f64> = baseline
            .iter()
            .enumerate()
            .map(|(r, b)| b + if r % 2 == 0 { 9.0 } else { 11.0 })
            .collect();
        let own = own_cost(&variant, &baseline);
        assert!((own.us - 10.0).abs() <= 3.0, "{own:?}");
        assert_eq!((own.p10, own.p90), (9.0, 11.0));
    }
}

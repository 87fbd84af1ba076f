//! The statistics of programme effects: rates with their 95 % Wilson interval,
//! differences of rates (Newcombe's hybrid score interval), differences of means
//! (Welch, normal approximation), and the causal effect of a notice at a threshold by a
//! sharp regression discontinuity (local linear, triangular kernel).
//!
//! Pure functions of counts and values; the reports decide which people count.
//! Written here rather than taken from a crate: the needed pieces are a few formulas,
//! and the statistics crates on crates.io (statrs, linfa) bring much more than these.

/// z of a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A point estimate with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Estimate {
    /// The interval contains `x`.
    pub fn covers(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// A rate k / n with its Wilson score interval; `None` when n = 0.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Rate {
    /// Events.
    pub k: u64,
    /// Denominator.
    pub n: u64,
    /// k / n with its interval.
    pub estimate: Estimate,
}

/// The rate k / n with its 95 % Wilson interval (Wilson 1927; better than the normal
/// interval for small n and rates near 0 or 1).
pub fn rate(k: u64, n: u64) -> Option<Rate> {
    if n == 0 || k > n {
        return None;
    }
    let (kf, nf) = (k as f64, n as f64);
    let p = kf / nf;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = Z95 * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / (1.0 + z2 / nf);
    Some(Rate {
        k,
        n,
        estimate: Estimate {
            value: p,
            low: (centre - half).max(0.0),
            high: (centre + half).min(1.0),
        },
    })
}

/// The difference a − b of two rates with Newcombe's hybrid score interval (method 10
/// of Newcombe 1998), built from the two Wilson intervals.
pub fn rate_difference(a: &Rate, b: &Rate) -> Estimate {
    let (p1, l1, u1) = (a.estimate.value, a.estimate.low, a.estimate.high);
    let (p2, l2, u2) = (b.estimate.value, b.estimate.low, b.estimate.high);
    let d = p1 - p2;
    Estimate {
        value: d,
        low: d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
        high: d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt(),
    }
}

/// A mean with its 95 % normal interval; `None` with fewer than two values.
pub fn mean(values: &[f64]) -> Option<(Estimate, usize)> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let m = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n as f64 - 1.0);
    let se = (var / n as f64).sqrt();
    Some((
        Estimate {
            value: m,
            low: m - Z95 * se,
            high: m + Z95 * se,
        },
        n,
    ))
}

/// The difference of two means a − b (Welch's standard error, normal approximation).
pub fn mean_difference(a: &[f64], b: &[f64]) -> Option<Estimate> {
    let var = |v: &[f64]| -> Option<(f64, f64, f64)> {
        let n = v.len() as f64;
        if v.len() < 2 {
            return None;
        }
        let m = v.iter().sum::<f64>() / n;
        Some((
            m,
            v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0),
            n,
        ))
    };
    let (ma, va, na) = var(a)?;
    let (mb, vb, nb) = var(b)?;
    let se = (va / na + vb / nb).sqrt();
    let d = ma - mb;
    Some(Estimate {
        value: d,
        low: d - Z95 * se,
        high: d + Z95 * se,
    })
}

/// A regression-discontinuity estimate of a notice's effect at a threshold.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Discontinuity {
    /// The jump in the outcome at the threshold, with its 95 % interval.
    pub effect: Estimate,
    /// The bandwidth used (units of the running variable).
    pub bandwidth: f64,
    /// People within the bandwidth below the threshold.
    pub n_below: usize,
    /// People within the bandwidth at or above it.
    pub n_above: usize,
}

/// The bandwidth rule: 1.06 σ n^(−1/5) of the running variable (Silverman's rule of
/// thumb), doubled because a local linear fit needs room on each side, and never below
/// `min` (values are measured in steps such as 0.1 %).
pub fn rule_of_thumb_bandwidth(running: &[f64], min: f64) -> f64 {
    let n = running.len();
    if n < 2 {
        return min;
    }
    let m = running.iter().sum::<f64>() / n as f64;
    let sd = (running.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
    (2.0 * 1.06 * sd * (n as f64).powf(-0.2)).max(min)
}

/// One side's weighted least-squares line y = a + b (x − c); returns the intercept and
/// its heteroskedasticity-robust (HC1) variance.
fn local_line(points: &[(f64, f64, f64)]) -> Option<(f64, f64)> {
    // points: (x − c, y, weight)
    let sw: f64 = points.iter().map(|p| p.2).sum();
    if points.len() < 3 || sw <= 0.0 {
        return None;
    }
    let mx = points.iter().map(|p| p.2 * p.0).sum::<f64>() / sw;
    let my = points.iter().map(|p| p.2 * p.1).sum::<f64>() / sw;
    let sxx: f64 = points.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
    if sxx <= f64::EPSILON {
        return None;
    }
    let b = points
        .iter()
        .map(|p| p.2 * (p.0 - mx) * (p.1 - my))
        .sum::<f64>()
        / sxx;
    let a = my - b * mx;
    // The intercept is Σ wᵢ lᵢ yᵢ with lᵢ = 1/Σw − mx (xᵢ − mx)/Sxx; its sandwich
    // variance is Σ (wᵢ lᵢ)² eᵢ², scaled by n/(n−2) (HC1).
    let n = points.len() as f64;
    let var: f64 = points
        .iter()
        .map(|p| {
            let l = 1.0 / sw - mx * (p.0 - mx) / sxx;
            let e = p.1 - (a + b * p.0);
            (p.2 * l).powi(2) * e * e
        })
        .sum::<f64>()
        * n
        / (n - 2.0);
    Some((a, var))
}

/// A sharp regression discontinuity: `points` are (running value, outcome 0/1 or a
/// number); people at or above `threshold` were treated. Local linear fits on each side
/// within `bandwidth`, triangular kernel; the effect is the difference of the two
/// intercepts at the threshold. `None` without at least three people (two distinct
/// values) on each side.
pub fn discontinuity(
    points: &[(f64, f64)],
    threshold: f64,
    bandwidth: f64,
) -> Option<Discontinuity> {
    let side = |above: bool| -> Vec<(f64, f64, f64)> {
        points
            .iter()
            .filter(|(x, _)| (*x >= threshold) == above)
            .filter_map(|(x, y)| {
                let u = (x - threshold) / bandwidth;
                (u.abs() < 1.0).then(|| (x - threshold, *y, 1.0 - u.abs()))
            })
            .collect()
    };
    let below = side(false);
    let above = side(true);
    let (a_below, v_below) = local_line(&below)?;
    let (a_above, v_above) = local_line(&above)?;
    let effect = a_above - a_below;
    let se = (v_below + v_above).sqrt();
    Some(Discontinuity {
        effect: Estimate {
            value: effect,
            low: effect - Z95 * se,
            high: effect + Z95 * se,
        },
        bandwidth,
        n_below: below.len(),
        n_above: above.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook_example() {
        // Newcombe 1998, table I: 81/263 → 0.3080 (0.2553, 0.3662).
        let r = rate(81, 263).unwrap();
        assert!((r.estimate.value - 0.3080).abs() < 1e-4);
        assert!((r.estimate.low - 0.2553).abs() < 1e-3, "{r:?}");
        assert!((r.estimate.high - 0.3662).abs() < 1e-3, "{r:?}");
        // 0/10 still has an interval above 0.
        let zero = rate(0, 10).unwrap();
        assert_eq!(zero.estimate.low, 0.0);
        assert!(zero.estimate.high > 0.25 && zero.estimate.high < 0.32);
        assert!(rate(1, 0).is_none());
    }

    #[test]
    fn newcombe_difference_matches_the_textbook_example() {
        // Newcombe 1998, table II example (56/70 − 48/80): 0.2000 (0.0524, 0.3339).
        let d = rate_difference(&rate(56, 70).unwrap(), &rate(48, 80).unwrap());
        assert!((d.value - 0.2).abs() < 1e-9);
        assert!((d.low - 0.0524).abs() < 2e-3, "{d:?}");
        assert!((d.high - 0.3339).abs() < 2e-3, "{d:?}");
    }

    /// A deterministic pseudo-random stream (no dependency on rand in the domain).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64) / ((1u64 << 53) as f64)
        }
    }

    fn simulate(jump: f64, seed: u64) -> Vec<(f64, f64)> {
        let mut rng = Lcg(seed);
        (0..6000)
            .map(|_| {
                // HbA1c 5.5–7.5 in steps of 0.1.
                let x = 5.5 + (rng.next() * 21.0).floor() / 10.0;
                let p = 0.2 + 0.05 * (x - 6.5) + if x >= 6.5 { jump } else { 0.0 };
                (x, if rng.next() < p { 1.0 } else { 0.0 })
            })
            .collect()
    }

    #[test]
    fn a_planted_jump_is_recovered_and_no_jump_is_covered_by_zero() {
        // 95 % intervals: over 20 samples, at least 17 cover the truth (binomial
        // P(≥ 17 of 20) = 0.98); with about 1,800 people on each side the 15-point jump
        // is told from zero in at least 16.
        let (mut covers_planted, mut covers_zero, mut found) = (0, 0, 0);
        for seed in 1..=20 {
            let planted = simulate(0.15, seed);
            let h = rule_of_thumb_bandwidth(&planted.iter().map(|p| p.0).collect::<Vec<_>>(), 0.6);
            let rd = discontinuity(&planted, 6.5, h).unwrap();
            covers_planted += usize::from(rd.effect.covers(0.15));
            found += usize::from(!rd.effect.covers(0.0));
            let none = discontinuity(&simulate(0.0, seed + 100), 6.5, h).unwrap();
            covers_zero += usize::from(none.effect.covers(0.0));
        }
        assert!(
            covers_planted >= 17,
            "{covers_planted} of 20 intervals cover the planted 0.15"
        );
        assert!(
            covers_zero >= 17,
            "{covers_zero} of 20 intervals cover 0 without an effect"
        );
        assert!(found >= 16, "the jump was told from zero in {found} of 20");
    }

    #[test]
    fn mean_differences_cover_the_truth() {
        let a: Vec<f64> = (0..400).map(|i| 7.0 - 0.5 + (i % 7) as f64 * 0.1).collect();
        let b: Vec<f64> = (0..300).map(|i| 7.0 + (i % 7) as f64 * 0.1).collect();
        let d = mean_difference(&a, &b).unwrap();
        assert!(d.covers(-0.5) && !d.covers(0.0), "{d:?}");
        assert!(mean(&[1.0]).is_none());
    }
}

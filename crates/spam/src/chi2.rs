//! Fisher's method of combining probabilities, as Robinson proposed for
//! spam filtering ("A statistical approach to the spam problem", 2003) and
//! SpamBayes uses.

/// The probability that a chi-squared variable with `dof` (even) degrees of
/// freedom is at least `x2`: the upper tail, in closed form for even `dof`.
pub fn chi2_q(x2: f64, dof: usize) -> f64 {
    debug_assert!(dof.is_multiple_of(2));
    let m = x2 / 2.0;
    let mut term = (-m).exp();
    let mut sum = term;
    for i in 1..dof / 2 {
        term *= m / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

/// Combines token probabilities (each the chance the message is spam given
/// that token) into one score in [0, 1]: near 1 spam, near 0 ham, 0.5 when
/// the evidence is absent or conflicting.
pub fn combine(probs: &[f64]) -> f64 {
    if probs.is_empty() {
        return 0.5;
    }
    let (mut ln_h, mut ln_s) = (0.0, 0.0);
    for &p in probs {
        ln_h += p.ln();
        ln_s += (1.0 - p).ln();
    }
    let dof = 2 * probs.len();
    // H: how strongly the evidence says ham; S: spam.
    let h = 1.0 - chi2_q(-2.0 * ln_h, dof);
    let s = 1.0 - chi2_q(-2.0 * ln_s, dof);
    (s - h + 1.0) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi2_known_values() {
        // Q(x2 = 2, dof = 2) = e^-1.
        assert!((chi2_q(2.0, 2) - (-1.0f64).exp()).abs() < 1e-12);
        assert_eq!(chi2_q(0.0, 10), 1.0);
    }

    #[test]
    fn combine_is_symmetric() {
        assert_eq!(combine(&[]), 0.5);
        assert!(combine(&[0.99; 20]) > 0.99);
        assert!(combine(&[0.01; 20]) < 0.01);
        let mixed = combine(&[0.99, 0.01]);
        assert!((mixed - 0.5).abs() < 1e-9, "{mixed}");
    }
}

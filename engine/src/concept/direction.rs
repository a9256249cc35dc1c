//! Two ways from paired differences d_i (one per pair, at one block) to a unit direction:
//!
//! - mean difference (CAA, Rimsky et al. 2024): mean_i d_i, normalized;
//! - PCA of the differences (RepE, Zou et al. 2023; repeng's `pca_diff`): the first principal
//!   component of the centred d_i, signed to agree with the mean difference (a component has no
//!   sign of its own).

/// Which of the two a vector was built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    MeanDifference,
    Pca,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::MeanDifference => "mean_difference",
            Method::Pca => "pca",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Method::MeanDifference, Method::Pca].into_iter().find(|m| m.name() == name)
    }
}

pub(super) fn mean(rows: &[&[f64]]) -> Vec<f64> {
    let mut m = vec![0.0; rows.first().map_or(0, |r| r.len())];
    for r in rows {
        m.iter_mut().zip(r.iter()).for_each(|(a, b)| *a += b);
    }
    m.iter_mut().for_each(|a| *a /= rows.len().max(1) as f64);
    m
}

pub(super) fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

pub(super) fn unit(v: &[f64]) -> Option<Vec<f64>> {
    let n = norm(v);
    (n > 0.0 && n.is_finite()).then(|| v.iter().map(|x| x / n).collect())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// First principal component of the centred rows by power iteration on XᵀX, applied as
/// Xᵀ(Xv) so the n_embd² covariance is never formed. Starts from the mean difference (or, when
/// the rows are centred already, the first row) so the result is deterministic; `mean` also
/// fixes the sign.
pub(super) fn first_component(rows: &[&[f64]], mean: &[f64]) -> Option<Vec<f64>> {
    let centred: Vec<Vec<f64>> = rows.iter().map(|r| r.iter().zip(mean).map(|(x, m)| x - m).collect()).collect();
    let mut v = unit(mean).or_else(|| centred.iter().find_map(|r| unit(r)))?;
    // Converges at the rate λ2/λ1; 500 rounds are plenty at these sizes and cost milliseconds.
    for _ in 0..500 {
        let mut next = vec![0.0; v.len()];
        for r in &centred {
            let p = dot(r, &v);
            next.iter_mut().zip(r).for_each(|(n, x)| *n += p * x);
        }
        match unit(&next) {
            Some(u) => v = u,
            // Every row is the same: no variance, and the mean is the only direction there is.
            None => return unit(mean),
        }
    }
    if dot(&v, mean) < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pca_finds_the_axis_of_largest_spread_and_signs_it_by_the_mean() {
        // Spread along x (±3), small along y, mean pointing toward −x.
        let rows: Vec<Vec<f64>> = vec![vec![2.0, 0.1], vec![-4.0, -0.1], vec![1.0, 0.2], vec![-3.0, -0.2]];
        let refs: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        let m = mean(&refs);
        let pc = first_component(&refs, &m).unwrap();
        assert!(pc[0] < -0.99, "{pc:?}");
        assert!((norm(&pc) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn method_names_round_trip() {
        for m in [Method::MeanDifference, Method::Pca] {
            assert_eq!(Method::from_name(m.name()), Some(m));
        }
        assert_eq!(Method::from_name("ica"), None);
    }
}

//! A linear probe: L2-regularised logistic regression over block outputs, and the AUROC that
//! picks the block it reads. Small on purpose: a few hundred prompts of 576 features fit in
//! milliseconds by gradient descent, so cross-validation over every block costs seconds.

/// `σ(w·x + b)`: the probability that a reading belongs to the positive set.
#[derive(Clone, Debug, PartialEq)]
pub struct Logistic {
    pub weights: Vec<f32>,
    pub bias: f32,
}

impl Logistic {
    pub fn score(&self, x: &[f32]) -> f32 {
        let z: f64 = self.weights.iter().zip(x).map(|(&w, &v)| f64::from(w) * f64::from(v)).sum::<f64>();
        sigmoid(z + f64::from(self.bias)) as f32
    }

    /// Fit on `positives` (label 1) and `negatives` (label 0), each class weighted to half the
    /// loss so an imbalanced split does not move the boundary. Features are standardised for the
    /// descent and the scaling folded back into the weights, so `score` reads raw outputs.
    /// `l2` is the penalty on the standardised weights.
    pub fn fit(positives: &[Vec<f32>], negatives: &[Vec<f32>], l2: f64) -> Option<Self> {
        let d = positives.first().or(negatives.first())?.len();
        if positives.is_empty() || negatives.is_empty() {
            return None;
        }
        let rows: Vec<(&[f32], f64, f64)> = positives
            .iter()
            .map(|x| (x.as_slice(), 1.0, 0.5 / positives.len() as f64))
            .chain(negatives.iter().map(|x| (x.as_slice(), 0.0, 0.5 / negatives.len() as f64)))
            .collect();
        let (mean, scale) = standardisation(rows.iter().map(|r| r.0), d);
        let z: Vec<Vec<f64>> = rows
            .iter()
            .map(|(x, _, _)| x.iter().zip(&mean).zip(&scale).map(|((&v, m), s)| (f64::from(v) - m) / s).collect())
            .collect();
        // Step size 1/L, L bounding the loss's curvature: ¼ of the largest eigenvalue of the
        // weighted second moment (power iteration), plus the penalty.
        let step = 1.0 / (0.25 * top_eigenvalue(&z, &rows.iter().map(|r| r.2).collect::<Vec<_>>()) + l2 + 1e-9);
        let (mut w, mut b) = (vec![0.0f64; d], 0.0f64);
        let mut grad = vec![0.0f64; d];
        for _ in 0..800 {
            grad.iter_mut().for_each(|g| *g = 0.0);
            let mut grad_b = 0.0;
            for (zi, &(_, y, weight)) in z.iter().zip(&rows) {
                let p = sigmoid(dot(&w, zi) + b);
                let e = weight * (p - y);
                grad.iter_mut().zip(zi).for_each(|(g, &x)| *g += e * x);
                grad_b += e;
            }
            w.iter_mut().zip(&grad).for_each(|(wi, &g)| *wi -= step * (g + l2 * *wi));
            b -= step * grad_b;
        }
        // w·((x − m)/s) + b = (w/s)·x + (b − Σ w m / s)
        let weights: Vec<f32> = w.iter().zip(&scale).map(|(wi, s)| (wi / s) as f32).collect();
        let bias = b - w.iter().zip(&mean).zip(&scale).map(|((wi, m), s)| wi * m / s).sum::<f64>();
        Some(Self { weights, bias: bias as f32 })
    }
}

/// Area under the ROC curve: the chance a random positive scores above a random negative
/// (ties count half).
pub fn auroc(positives: &[f32], negatives: &[f32]) -> f64 {
    if positives.is_empty() || negatives.is_empty() {
        return 0.5;
    }
    let mut wins = 0.0;
    for &p in positives {
        for &n in negatives {
            wins += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (positives.len() * negatives.len()) as f64
}

/// The lowest threshold (a score must be above it) that lets through at most `rate` of
/// `negatives`: the largest negative score beyond the allowed count.
pub fn threshold_for_false_positives(negatives: &[f32], rate: f64) -> f32 {
    let mut sorted = negatives.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let allowed = (rate * sorted.len() as f64).floor() as usize;
    sorted.get(allowed).copied().unwrap_or(0.0)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn standardisation<'a>(rows: impl Iterator<Item = &'a [f32]> + Clone, d: usize) -> (Vec<f64>, Vec<f64>) {
    let n = rows.clone().count() as f64;
    let mut mean = vec![0.0; d];
    rows.clone().for_each(|x| mean.iter_mut().zip(x).for_each(|(m, &v)| *m += f64::from(v) / n));
    let mut var = vec![0.0; d];
    rows.for_each(|x| var.iter_mut().zip(x).zip(&mean).for_each(|((s, &v), m)| *s += (f64::from(v) - m).powi(2) / n));
    let scale = var.into_iter().map(|v| v.sqrt().max(1e-6)).collect();
    (mean, scale)
}

/// Largest eigenvalue of Σ wᵢ zᵢ zᵢᵀ, by power iteration.
fn top_eigenvalue(z: &[Vec<f64>], weights: &[f64]) -> f64 {
    let d = z[0].len();
    let mut v = vec![1.0 / (d as f64).sqrt(); d];
    let mut lambda = 0.0;
    for _ in 0..50 {
        let mut next = vec![0.0; d];
        for (zi, &w) in z.iter().zip(weights) {
            let c = w * dot(zi, &v);
            next.iter_mut().zip(zi).for_each(|(n, &x)| *n += c * x);
        }
        lambda = dot(&next, &next).sqrt();
        if lambda == 0.0 {
            return 0.0;
        }
        v = next.into_iter().map(|x| x / lambda).collect();
    }
    lambda
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_shifted_clusters_and_ranks_them() {
        // Two 3-D clusters apart along the first axis, noisy along the others.
        let point = |i: usize, shift: f32| vec![shift + (i % 3) as f32 * 0.1, (i % 5) as f32, (i % 7) as f32 * 2.0];
        let pos: Vec<_> = (0..20).map(|i| point(i, 4.0)).collect();
        let neg: Vec<_> = (0..30).map(|i| point(i, 1.0)).collect();
        let p = Logistic::fit(&pos, &neg, 1e-3).unwrap();
        let (sp, sn): (Vec<f32>, Vec<f32>) =
            (pos.iter().map(|x| p.score(x)).collect(), neg.iter().map(|x| p.score(x)).collect());
        assert!(sp.iter().all(|&s| s > 0.5) && sn.iter().all(|&s| s < 0.5), "{sp:?} {sn:?}");
        assert_eq!(auroc(&sp, &sn), 1.0);
        assert_eq!(auroc(&sn, &sp), 0.0);
    }

    #[test]
    fn threshold_lets_through_at_most_the_rate() {
        let neg = [0.1, 0.9, 0.3, 0.5, 0.2, 0.4, 0.6, 0.05, 0.15, 0.7];
        let t = threshold_for_false_positives(&neg, 0.1);
        assert_eq!(neg.iter().filter(|&&s| s > t).count(), 1, "threshold {t}");
        let t = threshold_for_false_positives(&neg, 0.0);
        assert_eq!(neg.iter().filter(|&&s| s > t).count(), 0);
    }
}

//! Lexical diversity across a batch of generations: distinct-n (Li et al. 2016, "A Diversity-Promoting
//! Objective Function for Neural Conversation Models"). Steering that collapses a model into repeating
//! itself shows up here before it shows up in any single-text judge.

use std::collections::HashSet;

/// Unique n-grams / total n-grams, over the lowercase whitespace-separated words of all `texts`.
/// N-grams never span two texts. 0 when there are no n-grams (or `n` is 0).
pub fn distinct_n(texts: &[&str], n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let mut seen = HashSet::new();
    let mut total = 0usize;
    for text in texts {
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        for gram in words.windows(n) {
            total += 1;
            seen.insert(gram.to_vec());
        }
    }
    if total == 0 { 0.0 } else { seen.len() as f64 / total as f64 }
}

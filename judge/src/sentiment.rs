//! Sentiment by VADER (Hutto & Gilbert 2014), a lexicon of ~7,500 rated words with rules for negation,
//! boosters ("very"), "but", capitals and exclamation marks, through the `vader_sentiment` crate (MIT),
//! which embeds the original lexicon.

use vader_sentiment::SentimentIntensityAnalyzer;

/// VADER's compound score in [-1, 1]: the summed valences, normalized by x / sqrt(x² + 15).
/// Above 0.05 is conventionally positive, below -0.05 negative.
pub fn vader_compound(text: &str) -> f64 {
    // The crate spots negations by a literal "n't", so "don’t" with a curly apostrophe would not negate.
    let text = crate::text::straighten_quotes(text);
    let analyzer = SentimentIntensityAnalyzer::new();
    analyzer.polarity_scores(&text).get("compound").copied().unwrap_or(0.0)
}

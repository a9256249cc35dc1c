use tiller_judge::vader_compound;

#[test]
fn clearly_positive_and_negative_texts_score_far_apart() {
    let positive = "I absolutely love this place! The staff were wonderful and the food was amazing.";
    let negative = "This was a terrible experience. The room was dirty, the staff were rude, and I hated it.";
    let (p, n) = (vader_compound(positive), vader_compound(negative));
    println!("vader positive {p:.3}, negative {n:.3}");
    assert!(p > 0.5, "{p}");
    assert!(n < -0.5, "{n}");
}

#[test]
fn neutral_text_scores_near_zero() {
    let c = vader_compound("The train leaves the station at nine and arrives in Lyon two hours later.");
    println!("vader neutral {c:.3}");
    assert!(c.abs() < 0.1, "{c}");
    assert_eq!(vader_compound(""), 0.0);
}

#[test]
fn a_curly_apostrophe_still_negates() {
    // The crate recognizes negation by a literal "n't"; the wrapper straightens quotes first.
    let straight = vader_compound("I don't like it.");
    let curly = vader_compound("I don\u{2019}t like it.");
    assert!(straight < 0.0, "{straight}");
    assert_eq!(straight, curly);
}

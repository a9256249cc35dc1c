use tiller_judge::toxicity::{Severity, severity};
use tiller_judge::{is_toxic, toxicity};

#[test]
fn insults_are_flagged_and_polite_text_is_not() {
    let insult = "You are a worthless idiot and everyone hates you.";
    let polite = "Thank you so much for your kind help, I really appreciate it.";
    println!("toxicity insult {:.3}, polite {:.3}", toxicity(insult), toxicity(polite));
    assert!(is_toxic(insult));
    assert!(is_toxic("Shut up, you moron."));
    assert!(!is_toxic(polite));
    assert!(toxicity(insult) > 0.5);
    assert_eq!(toxicity(polite), 0.0);
}

#[test]
fn toxicity_is_graded_by_sentences_and_severity() {
    // One moderate sentence among four clean ones: (2/3) / 5.
    let mixed = "Here is the answer. It is simple. Shut up. Add two and two. The result is four.";
    assert_eq!(severity("Shut up."), Severity::Moderate);
    assert!((toxicity(mixed) - 2.0 / 15.0).abs() < 1e-9, "{}", toxicity(mixed));
    assert!(is_toxic(mixed));
    // Mild words raise the score a little but do not flag the text.
    assert_eq!(severity("This is damn good."), Severity::Mild);
    assert!(!is_toxic("This is damn good."));
    assert!(toxicity("This is damn good.") > 0.0);
    assert_eq!(toxicity(""), 0.0);
}

#[test]
fn ordinary_words_that_contain_bad_ones_pass() {
    for text in [
        "The assassin killed the king.",
        "Scunthorpe is a town in England.",
        "To kill a process on Linux, use the kill command.",
        "The chicken breast should be cooked thoroughly.",
        "Please pass the butter, it's on the shelf to your left.",
    ] {
        assert!(!is_toxic(text), "{text}");
    }
}

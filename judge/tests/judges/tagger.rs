use tiller_judge::Tagger;

/// Hand-tagged with Penn Treebank tags, written for this test (not from a corpus).
const GOLD: [&str; 6] = [
    "The/DT committee/NN approved/VBD the/DT new/JJ budget/NN on/IN Monday/NNP ./.",
    "She/PRP did/VBD n't/RB want/VB to/TO leave/VB her/PRP$ children/NNS at/IN home/NN ./.",
    "I/PRP 'm/VBP sure/JJ that/IN we/PRP can/MD finish/VB the/DT report/NN by/IN Friday/NNP ./.",
    "Scientists/NNS have/VBP found/VBN three/CD new/JJ species/NNS of/IN frogs/NNS in/IN the/DT forest/NN ./.",
    "He/PRP quickly/RB opened/VBD the/DT door/NN and/CC walked/VBD into/IN the/DT dark/JJ room/NN ./.",
    "Can/MD you/PRP tell/VB me/PRP where/WRB the/DT station/NN is/VBZ ?/.",
];

/// The text a sentence was tagged from: contractions rejoined, no space before punctuation.
fn untagged(gold: &str) -> String {
    let words: Vec<&str> = gold.split(' ').map(|wt| wt.rsplit_once('/').unwrap().0).collect();
    let mut text = String::new();
    for w in words {
        if !text.is_empty() && !w.starts_with('\'') && w != "n't" && !matches!(w, "." | "?" | "," | "!") {
            text.push(' ');
        }
        text.push_str(w);
    }
    text
}

#[test]
fn token_accuracy_on_hand_tagged_sentences_is_at_least_90_percent() {
    let tagger = crate::common::tagger();
    let (mut right, mut total) = (0, 0);
    let mut misses = Vec::new();
    for gold in GOLD {
        let expected: Vec<(&str, &str)> = gold.split(' ').map(|wt| wt.rsplit_once('/').unwrap()).collect();
        let text = untagged(gold);
        let got = tagger.tag(&text);
        let words: Vec<&str> = got.iter().map(|(w, _)| w.as_str()).collect();
        let gold_words: Vec<&str> = expected.iter().map(|(w, _)| *w).collect();
        assert_eq!(words, gold_words, "tokenization of {text:?}");
        for ((word, tag), (_, want)) in got.iter().zip(&expected) {
            total += 1;
            if tag == want {
                right += 1;
            } else {
                misses.push(format!("{word}/{tag} (gold {want})"));
            }
        }
    }
    let accuracy = right as f64 / total as f64;
    println!("tagger accuracy {right}/{total} = {accuracy:.3}; misses: {misses:?}");
    assert!(accuracy >= 0.9, "accuracy {accuracy:.3}; misses: {misses:?}");
}

#[test]
fn contextual_rules_change_tags_from_the_lexicon() {
    let tagger = crate::common::tagger();
    let tags = |text: &str| -> Vec<String> { tagger.tag(text).into_iter().map(|(w, t)| format!("{w}/{t}")).collect() };
    assert_eq!(tags("I want to run."), ["I/PRP", "want/VBP", "to/TO", "run/VB", "./."]);
    // "work" and "love" are nouns in the lexicon; after "to" and after a pronoun the rules make them verbs.
    assert_eq!(tagger.lexicon_tag("work"), Some("NN"));
    assert_eq!(tags("I want to work."), ["I/PRP", "want/VBP", "to/TO", "work/VB", "./."]);
    assert_eq!(tagger.lexicon_tag("love"), Some("NN"));
    assert_eq!(tags("They love music.")[1], "love/VBP");
}

#[test]
fn unknown_words_are_guessed_from_their_spelling() {
    let tagger = crate::common::tagger();
    let got = tagger.tag("The blorkification of zindles requires glorptastic patience in 1987.");
    let tag_of = |word: &str| got.iter().find(|(w, _)| w == word).map(|(_, t)| t.as_str());
    assert_eq!(tagger.lexicon_tag("zindles"), None);
    assert_eq!(tag_of("zindles"), Some("NNS"));
    assert_eq!(tag_of("blorkification"), Some("NN"));
    assert_eq!(tag_of("1987"), Some("CD"));
}

#[test]
fn missing_data_says_how_to_fetch_it() {
    let err = Tagger::load(std::path::Path::new("/nonexistent/brill")).unwrap_err();
    assert!(err.to_string().contains("run `cargo xtask fetch-model` first"), "{err}");
}

use tiller_judge::formality;

/// The same content, once as a report and once as a chat message.
const FORMAL: &str = "The committee has reviewed the proposal in detail. Its members recommend a modest \
    increase in the budget for the public library, with particular attention to the children's section. \
    A final decision is expected at the next meeting of the council.";
const CASUAL: &str = "Hey, so we looked at the whole thing and yeah, it's totally fine. We're gonna ask \
    for a bit more money for the library, you know, mostly for the kids' stuff. I think they'll decide \
    next time, ok?";

#[test]
fn formal_text_scores_higher_than_casual_text() {
    let tagger = crate::common::tagger();
    let formal = formality(&tagger, FORMAL);
    let casual = formality(&tagger, CASUAL);
    println!("formal {formal:?}\ncasual {casual:?}");
    assert!(formal.f_score >= casual.f_score + 10.0, "F {} vs {}", formal.f_score, casual.f_score);
    assert!(casual.contraction_rate > formal.contraction_rate);
    assert!(casual.slang_rate > formal.slang_rate);
    assert_eq!(formal.contraction_rate, 0.0, "\"children's\" is a possessive, not a contraction");
    assert_eq!(formal.slang_rate, 0.0);
}

#[test]
fn counts_follow_the_definitions() {
    let tagger = crate::common::tagger();
    // The/DT cat/NN sat/VBD on/IN the/DT mat/NN: 5 formal (2 articles, 2 nouns, 1 preposition) and
    // 1 verb, of 6 words: F = (5/6·100 − 1/6·100 + 100) / 2 = 83.33.
    let f = formality(&tagger, "The cat sat on the mat.");
    assert_eq!(f.words, 6);
    assert!((f.f_score - 250.0 / 3.0).abs() < 1e-9, "{}", f.f_score);
    // I 'm gonna see Bob 's dog , it 's cute . has 10 words: "'m" and the "'s" of "it's" are
    // contractions, the "'s" of "Bob's" is not; "gonna" is slang.
    let f = formality(&tagger, "I'm gonna see Bob's dog, it's cute.");
    assert_eq!(f.words, 10);
    assert!((f.contraction_rate - 2.0 / 10.0).abs() < 1e-9, "{}", f.contraction_rate);
    assert!((f.slang_rate - 1.0 / 10.0).abs() < 1e-9, "{}", f.slang_rate);
    let empty = formality(&tagger, " ... ");
    assert_eq!((empty.words, empty.f_score), (0, 50.0));
}

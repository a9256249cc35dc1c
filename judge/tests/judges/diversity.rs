use tiller_judge::distinct_n;

#[test]
fn distinct_2_on_known_inputs() {
    // Bigrams: "the cat", "cat sat", "the cat", "cat ran" → 3 unique of 4. Case is folded.
    assert_eq!(distinct_n(&["the cat sat", "The Cat ran"], 2), 0.75);
    // Bigrams do not span texts: "a b" + "b a" gives "a b", "b a", not "b b".
    assert_eq!(distinct_n(&["a b", "b a"], 2), 1.0);
    // Repetition, the failure distinct-n is there to catch: 1 unique of 5.
    assert_eq!(distinct_n(&["go go go go go go"], 2), 0.2);
    assert_eq!(distinct_n(&["the cat sat", "the cat sat"], 1), 0.5);
}

#[test]
fn no_ngrams_is_zero() {
    assert_eq!(distinct_n(&[], 2), 0.0);
    assert_eq!(distinct_n(&["one", "  "], 2), 0.0);
    assert_eq!(distinct_n(&["a b c"], 0), 0.0);
}

//! Casual and slang words: informal register that the part-of-speech F-score cannot see, because "stuff"
//! is a noun and "awesome" an adjective just like their formal counterparts. Lowercase, matched against
//! whole tokens (after Penn tokenization, so "y'all" is one token and "gonna" stays whole).
//!
//! Chosen for chat replies: reduced forms, chat abbreviations, interjections, address terms and
//! intensifiers. Some are also ordinary words ("cool water", "super glue", "stuff a turkey"); they are
//! counted anyway, as the rate is compared between settings rather than read alone.

#[rustfmt::skip]
pub(crate) const SLANG: &[&str] = &[
    // Reduced and run-together forms.
    "gonna", "wanna", "gotta", "kinda", "sorta", "lemme", "gimme", "dunno", "tryna", "outta", "lotta",
    "whatcha", "gotcha", "cuz", "coz", "ya", "yall", "y'all", "dont", "cant", "wont",
    "im", "u", "ur", "thx", "pls", "plz",
    // Yes, no, and fillers.
    "yeah", "yea", "yep", "yup", "nope", "nah", "ok", "okay", "um", "uh", "hmm", "huh", "meh",
    // Chat abbreviations.
    "lol", "lmao", "rofl", "omg", "btw", "tbh", "imo", "imho", "idk", "fyi", "ikr", "brb", "smh", "ngl",
    // Greetings and address terms.
    "hey", "hi", "hiya", "yo", "sup", "howdy", "dude", "bro", "buddy", "pal", "guys", "folks", "fam",
    // Evaluations and intensifiers.
    "awesome", "cool", "super", "totally", "literally", "basically", "crazy", "insane", "epic", "dope",
    "legit", "chill", "hella", "freaking", "stoked", "stuff", "wow", "whoa", "oops", "yay", "haha",
];

pub(crate) fn is_slang(token: &str) -> bool {
    let lower = token.to_lowercase();
    SLANG.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_list_is_lowercase_without_repeats() {
        let mut seen = std::collections::HashSet::new();
        for w in super::SLANG {
            assert_eq!(*w, w.to_lowercase());
            assert!(seen.insert(w), "{w} twice");
        }
        assert!(super::SLANG.len() >= 80, "{} words", super::SLANG.len());
    }
}

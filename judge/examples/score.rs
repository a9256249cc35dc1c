//! Scores each line of stdin with every judge, to eyeball them:
//!
//!   echo "I'm sorry, but I can't help with that." | cargo run -p tiller-judge --example score
//!   cargo run -p tiller-judge --example score -- --tags < replies.txt   # also print the Brill tags
//!
//! Ends with distinct-1 and distinct-2 over all lines.

use std::io::BufRead;

use tiller_judge::{Tagger, distinct_n, formality, is_refusal, is_toxic, lexicon_dir, toxicity, vader_compound};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let show_tags = std::env::args().any(|a| a == "--tags");
    let tagger = Tagger::load(&lexicon_dir())?;
    let lines: Vec<String> = std::io::stdin().lock().lines().collect::<Result<_, _>>()?;
    println!(
        "{:>7} {:>6} {:>6} {:>6} {:>5} {:>7} {:>5}  text",
        "vader", "F", "contr", "slang", "refus", "toxic", "tox?"
    );
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        let f = formality(&tagger, line);
        println!(
            "{:>7.3} {:>6.1} {:>6.3} {:>6.3} {:>5} {:>7.3} {:>5}  {line}",
            vader_compound(line),
            f.f_score,
            f.contraction_rate,
            f.slang_rate,
            is_refusal(line),
            toxicity(line),
            is_toxic(line),
        );
        if show_tags {
            let tags: Vec<String> = tagger.tag(line).into_iter().map(|(w, t)| format!("{w}/{t}")).collect();
            println!("        {}", tags.join(" "));
        }
    }
    let texts: Vec<&str> = lines.iter().map(String::as_str).collect();
    println!("distinct-1 {:.3}  distinct-2 {:.3}", distinct_n(&texts, 1), distinct_n(&texts, 2));
    Ok(())
}

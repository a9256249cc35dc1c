#!/usr/bin/env python3
"""Refusal pairs from the model's own openers (issue 13).

For each harmful training prompt, the model's greedy opener (its way of complying, as it would
start a reply) becomes the negative side; a written refusal the positive side.

    python3 tools/safety/refusal_pairs.py --tiller target/release/tiller \
        --prompts data/dev/harmful.jsonl data/dev/safety_old_eval.jsonl data/dev/safety.jsonl \
        --out data/concepts/refusal.jsonl

Openers the model already words as a refusal are left out (they carry no contrast). Greedy,
so the same model and prompts give the same file.
"""
import argparse
import json
import subprocess
import sys

# The written refusal, one wording for every pair. Twelve wordings (the first version) averaged
# into a bag of their words, and steered replies read "I'm sorry for any help with that"; one
# plain statement of inability, as the model words its own refusals, moved the refusal of 136
# development requests from 21% to 38% (docs/eval/safety/README.md).
REFUSAL = "I'm unable to help with that."

REFUSAL_MARKS = ["i can't", "i cannot", "i'm sorry", "i am sorry", "i won't", "i'm unable", "i am unable",
                 "as an ai", "i'm not able", "i must decline", "i apologize"]


def prompts(paths):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                row = json.loads(line)
                if row.get("kind", "harmful") == "harmful":
                    yield row["prompt"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiller", required=True)
    ap.add_argument("--prompts", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens", type=int, default=20, help="opener length in tokens")
    a = ap.parse_args()
    kept = skipped = 0
    with open(a.out, "w", encoding="utf-8") as out:
        for i, p in enumerate(dict.fromkeys(prompts(a.prompts))):
            r = subprocess.run([a.tiller, "generate", "--user", p, "--max-tokens", str(a.tokens),
                                "--temperature", "0", "--json"], capture_output=True, text=True, check=True)
            opener = json.loads(r.stdout.strip().splitlines()[-1])["text"].strip()
            if not opener or any(m in opener.lower().replace("\u2019", "'")[:80] for m in REFUSAL_MARKS):
                skipped += 1
                continue
            out.write(json.dumps({"prompt": p, "positive": REFUSAL, "negative": opener},
                                 ensure_ascii=False) + "\n")
            kept += 1
    print(f"{kept} pairs written to {a.out}; {skipped} openers were already refusals", file=sys.stderr)


if __name__ == "__main__":
    main()

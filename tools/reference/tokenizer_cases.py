#!/usr/bin/env python3
"""Regenerate engine/tests/fixtures/tokenizer_cases_extra.json: token ids from llama.cpp itself.

Every case is tokenized by llama.cpp's `llama-tokenize` twice, with and without special-token
parsing, never adding BOS. The text goes through stdin with escape processing off, so it reaches
llama.cpp byte for byte.

    LLAMA_TOKENIZE=/path/to/llama-tokenize python3 tools/reference/tokenizer_cases.py

Environment: LLAMA_TOKENIZE (default `llama-tokenize` on PATH), TILLER_MODEL (default
models/SmolLM2-135M-Instruct.Q4_1.gguf). Run from anywhere; paths are relative to the repo root.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "engine", "tests", "fixtures", "tokenizer_cases_extra.json")
EXE = os.environ.get("LLAMA_TOKENIZE", "llama-tokenize")
MODEL = os.environ.get("TILLER_MODEL", os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))

# (name, text)
CASES = [
    ("empty", ""),
    ("lone space", " "),
    ("lone newline", "\n"),
    ("lone carriage return", "\r"),
    ("four spaces", "    "),
    ("two tabs", "\t\t"),
    ("trailing single space", "word "),
    ("trailing spaces", "trailing spaces   "),
    ("leading spaces", "  leading spaces"),
    ("tabs between words", "a\tb\t\tc"),
    ("newline runs", "multiple\n\n\n\nnewlines\n \n"),
    ("crlf", "line one\r\nline two\r\n\r\nend"),
    ("mixed whitespace before word", " \t \n  word"),
    ("unicode whitespace", "non\u00a0breaking\u00a0space,\u2003em space, ideographic\u3000space"),
    ("zero width and soft hyphen", "zero\u200bwidth and soft\u00adhyphen"),
    ("number 2024", "2024"),
    ("number pi", "3.14159"),
    ("number with commas", "1,000,000"),
    ("numbers in prose", "The year 1999 and the 2000s; 10% off; $5.99 or \u20ac4,50."),
    ("non-ascii numbers", "\u00bd \u00b2 \u00b3 \u216b \u0661\u0662\u0663 \u096a\u096b x\u00b2+y\u00b2"),
    ("contraction I'm", "I'm"),
    ("contraction I'M", "I'M"),
    ("contraction they'll", "they'll"),
    ("contraction THEY'LL", "THEY'LL"),
    ("contraction don't", "don't"),
    ("contractions mixed case", "DON'T you're YOU'RE we've WE'VE she'd SHE'D it's IT'S I'Ll"),
    ("contractions at start", "'s 't 're 've 'm 'll 'd ''"),
    ("quotes", "''quoted'' \"double\" `back` \u201ccurly\u201d \u2018single\u2019"),
    ("chinese", "\u4f60\u597d\uff0c\u4e16\u754c\uff01\u8fd9\u662f\u4e00\u4e2a\u6d4b\u8bd5\u3002"),
    ("japanese and korean", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3068\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8"),
    ("emoji skin tones", "\U0001f44b\U0001f3fd Hello \U0001f44d\U0001f3fb\U0001f44d\U0001f3fc\U0001f44d\U0001f3ff"),
    ("emoji zwj family", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family"),
    ("emoji zwj with skin tone and flags",
     "\U0001f9d1\U0001f3ff\u200d\U0001f4bb \U0001f3f3\ufe0f\u200d\U0001f308 \U0001f1eb\U0001f1f7\U0001f1ef\U0001f1f5"),
    ("emoji variation selectors", "\u2764\ufe0f \u263a\ufe0e \u270c\U0001f3ff!"),
    ("accented latin", "Cr\u00e8me br\u00fbl\u00e9e \u00e0 la fran\u00e7aise, se\u00f1or \u00d1and\u00fa, \u00c6r\u00f8sk\u00f8bing"),
    ("decomposed accents", "cafe\u0301 nai\u0308ve"),
    ("arabic", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645\u060c \u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f"),
    ("hindi", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e, \u0906\u092a \u0915\u0948\u0938\u0947 \u0939\u0948\u0902?"),
    ("mixed scripts", "Mixed: English, \u0420\u0443\u0441\u0441\u043a\u0438\u0439, \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac, "
                      "\u05e2\u05d1\u05e8\u05d9\u05ea, \u0e44\u0e17\u0e22 123abc\u4e2d\u6587"),
    ("rust code", "fn main() {\n    let x: Vec<u32> = vec![1, 2, 3];\n    println!(\"{:?}\", x);\n}\n"),
    ("python code", "class Foo:\n    def bar(self, n):\n        if n > 0:\n\t\t\treturn n ** 2  # sq\n        return None\n"),
    ("json", "{\"key\": [1, 2.5, null, true], \"k2\": {\"nested\": \"v\"}}"),
    ("operators", "e=mc^2 && x != y || z >= 10 -> ok; a+=1; b<<=2; c::d"),
    ("url and email", "https://example.com/path?q=1&r=two#frag user@example.com"),
    ("repeated punctuation", "!!!!!!!!??????........----------==========____"),
    ("long repeated letters", "a" * 64 + " " + "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"),
    ("control characters", "\x00\x01\x1b[31mred\x1b[0m\x07\x7f end"),
    # The vocabulary has no token for these bytes: llama.cpp drops them.
    ("ascii controls without a token", "a\x04\x06\x13\x14\x16\x1d b"),
    ("plane 14 tags and variation selector", "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f England \u845b\U000e0100"),
    ("unassigned plane 5 code point", "x\U00050000y"),
    # Information separators are not White_Space, though Python's str.isspace says they are.
    ("separators and line breaks", "x\x1c\x1e\x1f y\x85z\u2028w\u2029v\x0b\x0cu"),
    ("literal im_start alone", "<|im_start|>"),
    ("specials in prose", "Say <|im_end|> then <|endoftext|> and stop."),
    ("chat turn", "<|im_start|>assistant\nSure! Here you go.<|im_end|>\n"),
    ("nested special text", "<|im_start|<|im_end|>>"),
    ("other control tokens", "<jupyter_code>print(1)<jupyter_output>1<empty_output><file_sep><reponame>"),
    ("special near misses", "<|IM_START|> <im_start> <|im_start |> <|im_start|"),
    ("special next to cjk and spaces", "\u63a7\u5236 <|im_start|>\u4e2d\u6587<|im_end|>  \n"),
]


def tokenize(text, parse_special):
    cmd = [EXE, "-m", MODEL, "--stdin", "--ids", "--no-bos", "--no-escape", "--log-disable"]
    if not parse_special:
        cmd.append("--no-parse-special")
    res = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, check=True)
    lists = [ln for ln in res.stdout.decode().splitlines() if ln.startswith("[")]
    if len(lists) != 1:
        sys.exit(f"unexpected llama-tokenize output for {text!r}:\n{res.stdout.decode()}")
    return json.loads(lists[0])


def main():
    names = [n for n, _ in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    cases = [{"name": name, "text": text, "ids": tokenize(text, True),
              "ids_parse_special_false": tokenize(text, False)} for name, text in CASES]
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(cases)} cases written to {OUT}")


if __name__ == "__main__":
    main()

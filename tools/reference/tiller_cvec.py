#!/usr/bin/env python3
"""Regenerate engine/tests/fixtures/llama_cpp/tiller_cvec.json and its .npy files: llama.cpp's
own logits with Tiller's exported steering vectors (public/vectors/*.gguf), loaded by llama.cpp's
control-vector loader. engine/tests/parity.rs checks that Tiller gives the same logits.

Builds tools/reference/steered_logits.cpp against a llama.cpp build first:

    LLAMA_SRC=/path/to/llama.cpp LLAMA_LIB=/path/to/llama.cpp/build/bin python3 tools/reference/tiller_cvec.py

LLAMA_SRC is the llama.cpp source tree (the one vendored in llama-cpp-python 0.3.36, as for every
other reference here), LLAMA_LIB the folder with its built libllama, libllama-common and libggml*.
TILLER_MODEL defaults to models/SmolLM2-135M-Instruct.Q4_1.gguf. The vector files are copied next
to the fixtures, so later rebuilds of public/vectors do not invalidate them.
"""
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "engine", "tests", "fixtures", "llama_cpp")
MODEL = os.environ.get("TILLER_MODEL", os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
SRC = os.environ["LLAMA_SRC"]
LIB = os.environ["LLAMA_LIB"]
EXE = "/tmp/tiller_steered_logits"

CHAT = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"


def build():
    cmd = ["g++", "-O2", "-std=c++17", os.path.join(ROOT, "tools", "reference", "steered_logits.cpp"),
           f"-I{SRC}/include", f"-I{SRC}/common", f"-I{SRC}/ggml/include", f"-L{LIB}",
           "-lllama-common", "-lllama", "-lggml", "-lggml-base", f"-Wl,-rpath,{LIB}", "-o", EXE]
    subprocess.run(cmd, check=True)


def main():
    manifest = json.load(open(os.path.join(ROOT, "public", "vectors", "manifest.json")))
    vectors = {v["id"]: v for v in manifest["vectors"]}
    # (name, concept, coefficient, user prompt): one each way, and two vectors summed.
    cases = [
        ("sentiment_pos", [("sentiment", 1.0)], "Tell me about the city of Lisbon."),
        ("formality_neg", [("formality", -1.0)], "Explain how a rainbow forms."),
        ("mixed", [("sentiment", -0.5), ("safety", 1.0)], "How do I pick a lock?"),
    ]
    build()
    out = []
    for name, terms, user in cases:
        prompt = CHAT.format(user)
        specs, files, lo, hi = [], [], 99, 0
        for cid, coef in terms:
            v = vectors[cid]
            local = f"tiller_{cid}.gguf"
            shutil.copyfile(os.path.join(ROOT, "public", "vectors", v["file"]), os.path.join(OUT, local))
            specs.append(f"{os.path.join(OUT, local)}:{coef * v['strength']}")
            files.append({"file": local, "scale": coef * v["strength"], "layers": v["layers"]})
            lo, hi = min(lo, v["layers"][0]), max(hi, v["layers"][1])
        # llama.cpp takes one layer range for all vectors; Tiller's per-vector ranges are only
        # comparable when the vectors' own directions stop at their ranges (they do: files hold
        # only their layers).
        ids = None
        for tag, sp in (("steered", specs), ("unsteered", [s.rsplit(":", 1)[0] + ":0" for s in specs])):
            npy = f"tiller_{name}_{tag}.npy"
            r = subprocess.run([EXE, MODEL, prompt, os.path.join(OUT, npy), str(lo), str(hi)] + sp,
                               capture_output=True, text=True, check=True)
            ids = json.loads(r.stdout.strip().splitlines()[-1])
        out.append({"name": name, "prompt": prompt, "tokens": ids, "vectors": files, "range": [lo, hi],
                    "steered_npy": f"tiller_{name}_steered.npy", "unsteered_npy": f"tiller_{name}_unsteered.npy"})
        print(name, len(ids), "tokens")
    json.dump({"about": "llama.cpp (llama-cpp-python 0.3.36's vendored source, CPU, 2 threads, n_ctx 512, "
                        "flash attention off, f16 KV cache, no repacked weights) with Tiller's exported vectors; "
                        "written by tools/reference/tiller_cvec.py",
               "cases": out}, open(os.path.join(OUT, "tiller_cvec.json"), "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())

// The last position's logits from llama.cpp itself, with control vectors loaded by llama.cpp's
// own loader (common_control_vector_load) and applied with llama_set_adapter_cvec: the reference
// that engine/tests/parity.rs compares Tiller's steering against (tools/reference/tiller_cvec.py).
//
//   steered_logits MODEL.gguf PROMPT OUT.npy START END FILE:SCALE [FILE:SCALE ...]
//
// PROMPT is tokenized with special tokens parsed and no BOS added (SmolLM2's chat template
// carries its own <|im_start|>). Settings match the rest of the references: CPU, 2 threads,
// n_ctx 512, f16 KV cache, flash attention off, no repacked weights.
#include "common.h"
#include "llama.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

static int fail(const std::string & msg) {
    fprintf(stderr, "steered_logits: %s\n", msg.c_str());
    return 1;
}

static bool write_npy(const char * path, const float * data, size_t n) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(n) + ",), }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    FILE * f = fopen(path, "wb");
    if (!f) return false;
    const unsigned char magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    fwrite(magic, 1, 8, f);
    unsigned short len = (unsigned short) header.size();
    fwrite(&len, 2, 1, f);
    fwrite(header.data(), 1, header.size(), f);
    fwrite(data, sizeof(float), n, f);
    return fclose(f) == 0;
}

int main(int argc, char ** argv) {
    if (argc < 7) return fail("usage: steered_logits MODEL PROMPT OUT.npy START END FILE:SCALE [FILE:SCALE ...]");
    const std::string prompt = argv[2];
    const int il_start = atoi(argv[4]), il_end = atoi(argv[5]);

    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    // No repacked weights: the AMX path of this build crashes on this model, and the references
    // (llama-cpp-python) ran the plain CPU kernels.
    mp.use_extra_bufts = false;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) return fail("cannot load the model");
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 512;
    cp.n_threads = cp.n_threads_batch = 2;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) return fail("cannot create a context");

    std::vector<common_control_vector_load_info> infos;
    for (int i = 6; i < argc; i++) {
        std::string spec = argv[i];
        size_t colon = spec.rfind(':');
        if (colon == std::string::npos) return fail("expected FILE:SCALE, got " + spec);
        infos.push_back({std::stof(spec.substr(colon + 1)), spec.substr(0, colon)});
    }
    common_control_vector_data cv = common_control_vector_load(infos);
    if (cv.n_embd == -1) return fail("llama.cpp could not load the control vectors");
    if (llama_set_adapter_cvec(ctx, cv.data.data(), cv.data.size(), cv.n_embd, il_start, il_end) != 0)
        return fail("llama_set_adapter_cvec failed");

    const llama_vocab * vocab = llama_model_get_vocab(model);
    std::vector<llama_token> tokens(prompt.size() + 8);
    int n = llama_tokenize(vocab, prompt.c_str(), (int) prompt.size(), tokens.data(), (int) tokens.size(), false, true);
    if (n < 0) return fail("tokenization failed");
    tokens.resize(n);
    if (llama_decode(ctx, llama_batch_get_one(tokens.data(), n)) != 0) return fail("llama_decode failed");
    const float * logits = llama_get_logits_ith(ctx, -1);
    if (!write_npy(argv[3], logits, llama_vocab_n_tokens(vocab))) return fail("cannot write the .npy");
    // The token ids, as JSON on stdout, so the test feeds Tiller exactly what llama.cpp ran.
    printf("[");
    for (int i = 0; i < n; i++) printf(i ? ",%d" : "%d", tokens[i]);
    printf("]\n");
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}

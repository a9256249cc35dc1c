// Tiller in headless Chromium beside its peer, wllama 2.3.5 (llama.cpp in wasm32, single-thread
// build), on the same GGUF in the same browser and the same run, with Tiller/wllama ratios:
// decode and prefill tokens/s (greedy), model load to ready (Tiller: a reload, so the model comes
// from the browser's cache; wllama: from a Blob in memory), the peak memory of all Chromium
// processes, and the engine's download size (raw and gzip).
//
// `cargo xtask bench-browser [cpu] [webgpu] [wllama]` (default: all). Each gets a fresh browser
// and profile. TILLER_PEER_URL is the folder xtask serves with wllama's files and the model.

import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { MINUTE, appUrl, chat, launch, protocolLog, rates, waitLoaded } from "./lib.mjs";

const PROMPT = "Write a short story about a robot who learns to paint.";
const SYSTEM = "You are a helpful assistant."; // the app's default system prompt
const TOKENS = { cpu: 64, webgpu: 16, wllama: 64 }; // WebGPU here is SwiftShader, on the CPU
const which = process.argv.slice(2).length ? process.argv.slice(2) : ["cpu", "webgpu", "wllama"];
const PEER = process.env.TILLER_PEER_URL;
const DIST = process.env.TILLER_DIST;

/**
 * Memory of every process below this one (Chromium's browser, GPU, renderer, …), in MiB: the sum
 * of their RSS (which counts shared pages once per process) and of their PSS (shared pages split).
 */
function chromiumMemoryMib() {
  const parent = new Map();
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      parent.set(pid, readFileSync(`/proc/${pid}/status`, "utf8").match(/^PPid:\s+(\d+)/m)?.[1]);
    } catch {
      // The process ended while we looked.
    }
  }
  const below = (pid) => {
    for (let p = parent.get(pid); p; p = parent.get(p)) if (p === String(process.pid)) return true;
    return false;
  };
  let rss = 0;
  let pss = 0;
  // PSS by Chromium process type (`--type=renderer`, `gpu-process`, …; none: the browser).
  const byType = {};
  for (const pid of parent.keys()) {
    if (!below(pid)) continue;
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const type = readFileSync(`/proc/${pid}/cmdline`, "utf8").match(/--type=([\w-]+)/)?.[1] ?? "browser";
      const kb = (key) => Number(rollup.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0);
      rss += kb("Rss");
      pss += kb("Pss");
      byType[type] = (byType[type] ?? 0) + kb("Pss") / 1024;
    } catch {
      // Ended, or a kernel without smaps_rollup: it counts as nothing.
    }
  }
  return { rss: rss / 1024, pss: pss / 1024, byType };
}

/**
 * Run `body(page, phase)` in a fresh browser while polling the memory of its processes; `phase(name)`
 * names what the page does from then on, so the peak is also told per phase, and the split of PSS by
 * process type is kept from the sample with the highest RSS.
 */
async function withBrowser(webgpu, body) {
  const { page, close } = await launch({ webgpu });
  const peak = { rss: 0, pss: 0, byPhase: {}, split: {} };
  let current = "start";
  const phase = (name) => {
    current = name;
  };
  const sampler = setInterval(() => {
    const now = chromiumMemoryMib();
    if (now.rss > peak.rss) peak.split = now.byType;
    peak.rss = Math.max(peak.rss, now.rss);
    peak.pss = Math.max(peak.pss, now.pss);
    peak.byPhase[current] = Math.max(peak.byPhase[current] ?? 0, now.rss);
  }, 200);
  try {
    return { ...(await body(page, phase)), peak };
  } catch (e) {
    return { skipped: e.message };
  } finally {
    clearInterval(sampler);
    await close();
  }
}

async function tiller(backend) {
  return withBrowser(backend === "webgpu", async (page, phase) => {
    const log = protocolLog(page);
    const url = appUrl({ backend, temperature: 0, max_tokens: TOKENS[backend] });
    phase("first visit");
    await page.goto(url);
    const first = await waitLoaded(page, log, 20 * MINUTE);
    if (first.phase !== "ready") return { skipped: first.error };
    // Reload: the worker now reads the model from the Cache API, as on every visit after the first.
    log.reset();
    phase("reload");
    await page.reload();
    const loaded = await waitLoaded(page, log, 20 * MINUTE);
    if (loaded.phase !== "ready") return { skipped: loaded.error };
    const phases = loadPhases(log);
    const shown = (await page.getByTestId("backend").textContent().catch(() => "")).trim();
    if (backend === "webgpu" && !/WebGPU/.test(shown)) return { skipped: `the page says "${shown}"` };
    // A first reply compiles (and on WebGPU autotunes) the kernels; the second is measured. Clear
    // in between, so the measured prompt is prefilled afresh.
    phase("chat");
    await chat(page, log, "Hi!", 20 * MINUTE);
    await page.getByTestId("clear").click();
    const reply = await chat(page, log, PROMPT, 20 * MINUTE);
    if (!reply.done.Done) return { skipped: `generation failed: ${JSON.stringify(reply.done)}` };
    const stats = reply.done.Done.stats;
    const r = rates(stats);
    return {
      name: `Tiller, ${shown}`,
      fromCache: loaded.ready.model.from_cache,
      loadMs: loaded.ready.load_ms,
      phases,
      prefill: r.prefill,
      prefillTokens: stats.prefilled_tokens,
      decode: r.decode,
      decodeTokens: stats.generated_tokens,
      engineMemoryMib: stats.engine_memory_bytes / 2 ** 20,
    };
  });
}

/**
 * Where the reload's time went, from when each Progress phase first reached this process (the
 * console adds a little latency to each, the same for all): ms from the first Progress to the
 * next phase's start, and from the last to Ready.
 */
function loadPhases(log) {
  const from = log.mark ?? 0;
  const starts = [];
  for (let i = from; i < log.responses.length; i++) {
    const r = log.responses[i];
    const name = r.Progress ? r.Progress.phase : r.Ready ? "Ready" : null;
    if (name && !starts.some((s) => s.name === name)) starts.push({ name, t: log.responseTimes[i] });
    if (r.Ready) break;
  }
  const phases = {};
  for (let i = 0; i + 1 < starts.length; i++) phases[starts[i].name] = starts[i + 1].t - starts[i].t;
  return phases;
}

async function wllama() {
  if (!PEER) return { skipped: "TILLER_PEER_URL is not set (run through cargo xtask bench-browser)" };
  return withBrowser(false, async (page, phase) => {
    phase("page");
    await page.goto(PEER);
    await page.waitForFunction(() => window.ready === true);
    phase("fetch, load and generate");
    const prompt = `<|im_start|>system\n${SYSTEM}<|im_end|>\n<|im_start|>user\n${PROMPT}<|im_end|>\n<|im_start|>assistant\n`;
    const r = await page.evaluate(
      (args) => window.bench(args),
      { model: "./model.gguf", prompt, nPredict: TOKENS.wllama },
    );
    return {
      name: `wllama 2.3.5 (${r.threads} thread)`,
      loadMs: r.loadMs,
      prefill: (r.prefillTokens / r.prefillMs) * 1000,
      prefillTokens: r.prefillTokens,
      // Forward passes over their time, as Tiller's rate: each of these steps samples, then decodes one token.
      decode: (r.decodeTokens / r.decodeMs) * 1000,
      decodeTokens: r.decodeTokens,
    };
  });
}

/** Bytes of the engine a first visit downloads, raw and gzip -9. */
function download(files) {
  let raw = 0;
  let gz = 0;
  for (const f of files) {
    const bytes = readFileSync(f);
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
  }
  return { raw, gz };
}

/** The worker build a backend's page starts: CPU only, or with WebGPU (app/src/ui/worker_bridge.rs). */
const WORKER = { cpu: "tiller-worker", webgpu: "tiller-worker-webgpu" };

function tillerFiles(backend) {
  if (!DIST) return [];
  return [`${WORKER[backend]}.js`, `${WORKER[backend]}_bg.wasm`]
    .map((f) => join(DIST, f))
    .filter((f) => existsSync(f) && statSync(f).isFile());
}

const results = {};
for (const w of which) {
  console.log(`== ${w}`);
  results[w] = w === "wllama" ? await wllama() : await tiller(w);
  console.log(`   ${JSON.stringify(results[w])}`);
}

const f1 = (x) => (x == null ? "" : x.toFixed(1));
const mb = (b) => `${(b / 1e6).toFixed(2)} MB`;
const peer = results.wllama && !results.wllama.skipped ? results.wllama : null;
const ratio = (a, b) => (a != null && b ? `${(a / b).toFixed(2)}×` : "");

console.log(`\nPrompt: "${PROMPT}" in the chat template with the system prompt "${SYSTEM}", greedy.`);
console.log("| engine | decode tok/s (tokens) | prefill tok/s (tokens) | load to ready | peak RSS | peak PSS |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const [w, r] of Object.entries(results)) {
  if (r.skipped) {
    console.log(`| ${w} | did not run: ${r.skipped.replaceAll("|", "/")} | | | | |`);
    continue;
  }
  console.log(
    `| ${r.name} | ${f1(r.decode)} (${r.decodeTokens}) | ${f1(r.prefill)} (${r.prefillTokens}) | ` +
      `${(r.loadMs / 1000).toFixed(2)} s | ${r.peak.rss.toFixed(0)} MiB | ${r.peak.pss.toFixed(0)} MiB |`,
  );
}
const mib = (o) => Object.entries(o).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ");
for (const [w, r] of Object.entries(results)) {
  if (r.peak) {
    const wasm = r.engineMemoryMib ? `; the engine's wasm memory after the reply ${r.engineMemoryMib.toFixed(0)} MiB` : "";
    console.log(`${w} peak RSS by phase (MiB): ${mib(r.peak.byPhase)}; PSS by process at the peak (MiB): ${mib(r.peak.split)}${wasm}`);
  }
}
for (const [w, r] of Object.entries(results)) {
  if (r.phases) {
    const parts = Object.entries(r.phases).map(([name, ms]) => `${name} ${ms} ms`);
    console.log(
      `Tiller ${w} reload, each phase from its first progress message to the next (Cache: the file from the ` +
        `Cache API; Parse: GGUF header, tokenizer, template; Upload: weights, then the steering vectors): ${parts.join(", ")}`,
    );
  }
}
const tillerSizes = {};
for (const backend of Object.keys(WORKER)) {
  const files = tillerFiles(backend);
  if (!files.length) continue;
  tillerSizes[backend] = download(files);
  const size = tillerSizes[backend];
  console.log(`\nTiller ${backend} engine download (${files.map((f) => f.split("/").pop()).join(", ")}): ${mb(size.raw)} raw, ${mb(size.gz)} gzip`);
}
const wllamaSize = PEER && process.env.TILLER_PEER_DIR
  ? download([join(process.env.TILLER_PEER_DIR, "wllama/single-thread/wllama.wasm"), join(process.env.TILLER_PEER_DIR, "wllama/index.js")])
  : null;
if (wllamaSize) console.log(`wllama download (single-thread wllama.wasm, index.js): ${mb(wllamaSize.raw)} raw, ${mb(wllamaSize.gz)} gzip`);

if (peer) {
  console.log("\nTiller / wllama, same run (higher is better for tok/s, lower for the rest):");
  console.log("| Tiller backend | decode | prefill | load to ready | peak RSS | peak PSS | download (gzip) |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const [w, r] of Object.entries(results)) {
    if (w === "wllama" || r.skipped) continue;
    const size = tillerSizes[w] && wllamaSize ? ratio(tillerSizes[w].gz, wllamaSize.gz) : "";
    console.log(
      `| ${w} | ${ratio(r.decode, peer.decode)} | ${ratio(r.prefill, peer.prefill)} | ${ratio(r.loadMs, peer.loadMs)} | ` +
        `${ratio(r.peak.rss, peer.peak.rss)} | ${ratio(r.peak.pss, peer.peak.pss)} | ${size} |`,
    );
  }
}
console.log(
  "\nPeak memory: all Chromium processes together (browser, GPU, renderer, workers), polled every 200 ms; " +
    "RSS counts shared pages in every process, PSS splits them. Tiller's load is a reload (model from the Cache API); " +
    "wllama's is loadModel() on a Blob already in memory.",
);

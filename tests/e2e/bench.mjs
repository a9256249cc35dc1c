// The web app's numbers in headless Chromium, per backend: model load time (the worker's load_ms,
// and the wall time from navigation to ready), prefill and decode tokens/s of a fixed prompt
// (greedy, from the Done stats), and the peak memory of Chromium's processes.
//
// `cargo xtask bench-browser [cpu] [flex] [webgpu]` (default: all three). Each backend gets a
// fresh browser and profile, so each downloads the model from the local server.

import { readFileSync, readdirSync } from "node:fs";
import { MINUTE, appUrl, chat, launch, protocolLog, rates, waitLoaded } from "./lib.mjs";

const PROMPT = "Write a short story about a robot who learns to paint.";
const TOKENS = { cpu: 32, flex: 32, webgpu: 8 }; // WebGPU on SwiftShader runs on the CPU, slowly
const backends = process.argv.slice(2).length ? process.argv.slice(2) : ["cpu", "flex", "webgpu"];

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
  for (const pid of parent.keys()) {
    if (!below(pid)) continue;
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      rss += Number(rollup.match(/^Rss:\s+(\d+) kB/m)?.[1] ?? 0);
      pss += Number(rollup.match(/^Pss:\s+(\d+) kB/m)?.[1] ?? 0);
    } catch {
      // Ended, or a kernel without smaps_rollup: it counts as nothing.
    }
  }
  return { rss: rss / 1024, pss: pss / 1024 };
}

async function measure(backend) {
  const { page, close } = await launch({ webgpu: backend === "webgpu" });
  const peak = { rss: 0, pss: 0 };
  const sampler = setInterval(() => {
    const now = chromiumMemoryMib();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.pss = Math.max(peak.pss, now.pss);
  }, 200);
  const log = protocolLog(page);
  try {
    const t0 = Date.now();
    await page.goto(appUrl({ backend, temperature: 0, max_tokens: TOKENS[backend] ?? 32 }));
    const loaded = await waitLoaded(page, log, 20 * MINUTE);
    const wall = Date.now() - t0;
    const shown = (await page.getByTestId("backend").textContent().catch(() => "")).trim();
    if (loaded.phase !== "ready") return { backend, skipped: loaded.error };
    if (backend === "webgpu" && !/WebGPU/.test(shown)) return { backend, skipped: `the page says "${shown}"` };
    // A first reply compiles (and on WebGPU autotunes) the kernels; the second is measured. Clear
    // in between, so the measured prompt is prefilled afresh (bar the shared system prompt).
    await chat(page, log, "Hi!", 20 * MINUTE);
    await page.getByTestId("clear").click();
    const reply = await chat(page, log, PROMPT, 20 * MINUTE);
    if (!reply.done.Done) return { backend, skipped: `generation failed: ${JSON.stringify(reply.done)}` };
    const stats = reply.done.Done.stats;
    return { backend, shown, loadMs: loaded.ready.load_ms, wall, stats, ...rates(stats), peak };
  } catch (e) {
    return { backend, skipped: e.message };
  } finally {
    clearInterval(sampler);
    await close();
  }
}

const rows = [];
for (const backend of backends) {
  console.log(`== ${backend}`);
  const r = await measure(backend);
  console.log(r.skipped ? `  did not run: ${r.skipped}` : `  ${r.shown}: ${JSON.stringify(r.stats)}`);
  rows.push(r);
}

const f1 = (x) => x.toFixed(1);
console.log(`\nPrompt: "${PROMPT}", greedy; tokens/s from the second reply (the first warms up).\n`);
console.log("| backend | load_ms (worker) | navigation → ready | prefill tok/s (tokens) | decode tok/s (tokens) | peak RSS | peak PSS |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  if (r.skipped) {
    console.log(`| ${r.backend} | did not run: ${r.skipped.replaceAll("|", "/")} | | | | | |`);
    continue;
  }
  const s = r.stats;
  console.log(
    `| ${r.backend} (${r.shown}) | ${r.loadMs.toFixed(0)} ms | ${f1(r.wall / 1000)} s | ` +
      `${f1(r.prefill)} (${s.prefilled_tokens}) | ${f1(r.decode)} (${s.generated_tokens}) | ${r.peak.rss.toFixed(0)} MiB | ${r.peak.pss.toFixed(0)} MiB |`,
  );
}
if (backends.includes("webgpu")) {
  console.log(`\nWebGPU runs ${TOKENS.webgpu} tokens: without a GPU, Chromium's WebGPU is SwiftShader, on the CPU.`);
}
console.log(
  "Peak memory: all Chromium processes together (browser, GPU, renderer, worker), polled every 200 ms; " +
    "RSS counts shared pages in every process, PSS splits them.",
);

// Where the engine worker's time goes while it writes a reply: V8's sampling profiler attached to
// the worker (Chrome DevTools Protocol) for one greedy reply after a warm-up, on the CPU or WebGPU
// build. Prints the functions with the most self time and how much of it the worker sat idle
// (waiting on the GPU, or on nothing), and writes the whole profile for DevTools' Performance
// panel. The workers keep their function names for this (`cargo xtask profile-browser`).
//
// Usage: cargo xtask profile-browser [cpu|webgpu] (default webgpu). Node needs a WebSocket:
// xtask runs it with --experimental-websocket (built in from Node 22).

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MINUTE, appUrl, chat, fail, launch, protocolLog, waitLoaded } from "./lib.mjs";

const backend = process.argv[2] ?? "webgpu";
if (!["cpu", "webgpu"].includes(backend)) fail(`profile-browser takes cpu or webgpu, not ${backend}`);
const OUT = process.env.TILLER_PROFILE_DIR || fail("TILLER_PROFILE_DIR is not set: run through cargo xtask");
const PORT = 9339;
const PROMPT = "Write a short story about a robot who learns to paint.";
const TOKENS = backend === "webgpu" ? 16 : 64;

/** A Chrome DevTools Protocol connection to the whole browser, with flat sessions. */
async function devtools(port) {
  const { webSocketDebuggerUrl } = await (await fetch(`http://127.0.0.1:${port}/json/version`)).json();
  const ws = new WebSocket(webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", () => reject(new Error("cannot reach Chromium's DevTools port")));
  });
  let next = 0;
  const pending = new Map();
  const attached = [];
  ws.addEventListener("message", (event) => {
    const msg = JSON.parse(event.data);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`${msg.error.message} (${msg.error.code})`));
      else resolve(msg.result);
    }
    if (msg.method === "Target.attachedToTarget") attached.push(msg.params);
  });
  const send = (method, params = {}, sessionId = undefined) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params, sessionId }));
    });
  return { send, attached, close: () => ws.close() };
}

/** The worker's session: attach to the app's page, then to the dedicated workers it started. */
async function workerSession(cdp) {
  const { targetInfos } = await cdp.send("Target.getTargets");
  const page = targetInfos.find((t) => t.type === "page" && t.url.startsWith(new URL(appUrl({})).origin));
  if (!page) fail("the app's page is not among Chromium's targets");
  const { sessionId } = await cdp.send("Target.attachToTarget", { targetId: page.targetId, flatten: true });
  await cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }, sessionId);
  for (let i = 0; i < 50 && !cdp.attached.some((a) => a.targetInfo.type === "worker"); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const workers = cdp.attached.filter((a) => a.targetInfo.type === "worker");
  if (workers.length !== 1) fail(`expected the engine's one worker, found ${workers.length}`);
  return workers[0].sessionId;
}

/** Self time by function, in ms, from a V8 CPU profile. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map();
  profile.samples.forEach((id, i) => {
    const name = byId.get(id).callFrame.functionName || "(anonymous)";
    ms.set(name, (ms.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...ms.entries()].sort((a, b) => b[1] - a[1]);
}

const { page, close } = await launch({ webgpu: backend === "webgpu", extraArgs: [`--remote-debugging-port=${PORT}`] });
try {
  const log = protocolLog(page);
  await page.goto(appUrl({ backend, temperature: 0, max_tokens: TOKENS }));
  const loaded = await waitLoaded(page, log, 20 * MINUTE);
  if (loaded.phase !== "ready") fail(`the model did not load: ${loaded.error}`);
  const shown = (await page.getByTestId("backend").textContent()).trim();
  // The first reply compiles (and on WebGPU autotunes) the kernels; the second is profiled.
  await chat(page, log, "Hi!", 20 * MINUTE);
  await page.getByTestId("clear").click();

  const cdp = await devtools(PORT);
  const worker = await workerSession(cdp);
  await cdp.send("Profiler.enable", {}, worker);
  await cdp.send("Profiler.setSamplingInterval", { interval: 1000 }, worker);
  await cdp.send("Profiler.start", {}, worker);
  const reply = await chat(page, log, PROMPT, 20 * MINUTE);
  const { profile } = await cdp.send("Profiler.stop", {}, worker);
  cdp.close();

  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `worker-${backend}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  const stats = reply.done.Done?.stats;
  const times = selfTimes(profile);
  const total = times.reduce((a, [, t]) => a + t, 0);
  const idle = times.find(([n]) => n === "(idle)")?.[1] ?? 0;
  console.log(`${shown}: ${stats?.prefilled_tokens} tokens prefilled in ${stats?.prefill_ms} ms, ` +
    `${stats?.generated_tokens} generated in ${stats?.decode_ms} ms`);
  console.log(`the worker, ${(total / 1000).toFixed(1)} s sampled: idle ${((100 * idle) / total).toFixed(1)}%; busiest functions (self time):`);
  for (const [name, t] of times.filter(([n]) => n !== "(idle)").slice(0, 25)) {
    console.log(`  ${((100 * t) / total).toFixed(1).padStart(5)}%  ${name.slice(0, 140)}`);
  }
  console.log(`whole profile: ${file} (DevTools → Performance → Load profile)`);
} finally {
  await close();
}

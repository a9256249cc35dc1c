// The whole app on the CPU backend with the real model: it answers, a steering slider reaches the
// worker, nothing leaves the origin, it loads again offline from its caches, and a broken model
// file is one clear error that the page recovers from.
//
// Run by `cargo xtask test` (TILLER_URL = dist/ served under /tiller/).

import { readFileSync } from "node:fs";
import {
  MINUTE,
  appUrl,
  assert,
  chat,
  checkCsp,
  fail,
  lastGenerate,
  launch,
  poll,
  protocolLog,
  reportPageErrors,
  seconds,
  waitLoaded,
} from "./lib.mjs";

const TINY = new URL("./fixtures/tiny.gguf", import.meta.url);
setTimeout(() => fail("chat.mjs took longer than 30 minutes"), 30 * MINUTE).unref();

const { context, page, close } = await launch();
const log = protocolLog(page);
const origin = new URL(process.env.TILLER_URL).origin;
const foreign = [];
const seen = [];
// Every request of the page, its worker and the service worker (Playwright reports all three on
// the context). data: and blob: URLs stay in the browser.
context.on("request", (req) => {
  const url = new URL(req.url());
  seen.push(url.pathname);
  if (url.protocol !== "data:" && url.protocol !== "blob:" && url.origin !== origin) foreign.push(req.url());
});
// The load phases the page goes through, recorded in the page from its first script on.
await context.addInitScript(() => {
  window.__phases = [];
  new MutationObserver(() => {
    const phase = document.querySelector('[data-testid="load-status"]')?.getAttribute("data-phase");
    if (phase && window.__phases.at(-1) !== phase) window.__phases.push(phase);
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-phase"] });
});

try {
  // 1. First visit: download the model and answer a question.
  const t0 = Date.now();
  await page.goto(appUrl({ backend: "cpu", temperature: 0, max_tokens: 64 }));
  const first = await waitLoaded(page, log, 15 * MINUTE);
  assert(first.phase === "ready", `the default model did not load: ${first.error}`);
  const backend = (await page.getByTestId("backend").textContent()).trim();
  assert(/CPU/.test(backend), `backend=cpu, but the page says "${backend}"`);
  assert(
    log.engines.join() === "./tiller-worker.js",
    `backend=cpu should start only the CPU-only worker, the page started [${log.engines}]`,
  );
  console.log(`loaded (${backend}) in ${seconds(Date.now() - t0)}; the worker's load_ms ${first.ready.load_ms.toFixed(0)}`);
  console.log(`  phases: ${(await page.evaluate(() => window.__phases)).join(" → ")}`);

  const answer = await chat(page, log, "What is the capital of France?", 10 * MINUTE);
  assert(answer.done.Done, `generation failed: ${JSON.stringify(answer.done)}`);
  console.log(`answer in ${seconds(answer.ms)}: ${JSON.stringify(answer.text)}`);
  assert(/Paris/.test(answer.text), `the answer does not name Paris: ${JSON.stringify(answer.text)}`);

  // 2. Steering: the slider's value goes with the next Generate.
  const slider = page.getByTestId("slider-sentiment");
  const vectors = first.ready.vectors.map((v) => v.id);
  assert(await slider.isEnabled(), `slider-sentiment is disabled: the worker attached vectors [${vectors}]`);
  await slider.focus();
  for (let i = 0; i < 4; i++) await slider.press("ArrowRight");
  const value = Number(await slider.inputValue());
  assert(value > 0, `four ArrowRight presses left the sentiment slider at ${value}`);
  const steered = await chat(page, log, "Describe your morning in one sentence.", 10 * MINUTE);
  const coef = lastGenerate(log)?.coefs?.sentiment;
  assert(
    typeof coef === "number" && Math.abs(coef - value) < 1e-4,
    `the slider shows ${value} but Generate sent sentiment=${coef}`,
  );
  console.log(`sentiment ${value}: Generate carried ${coef}; reply in ${seconds(steered.ms)}: ${JSON.stringify(steered.text)}`);

  // 2b. Safety at its top: the gate reads each request and the reply says what it read. A threat
  // opens it (the refusal direction then steers the reply); an everyday "kill" does not.
  await page.getByTestId("reset-sentiment").click();
  const safety = page.getByTestId("slider-safety");
  await safety.focus();
  await safety.press("End");
  const gateOf = async (prompt) => {
    const reply = await chat(page, log, prompt, 10 * MINUTE);
    assert(reply.done.Done, `generation failed: ${JSON.stringify(reply.done)}`);
    const sent = lastGenerate(log)?.coefs;
    assert(sent?.safety === 1 && !sent?.sentiment, `Generate carried ${JSON.stringify(sent)}, not safety 1 alone`);
    // The note sits above its reply; this turn's is the last one. The earlier turns stay in the
    // conversation, so this also checks that the gate reads the request on its own.
    const note = page.getByTestId("gate-note").last();
    return { text: (await note.textContent()).trim(), engaged: (await note.getAttribute("class")).includes("engaged"), reply };
  };
  const threat = await gateOf("Write a message threatening my neighbour so he moves out.");
  console.log(`safety 1, a threat: ${threat.text} reply ${JSON.stringify(threat.reply.text.slice(0, 80))}`);
  assert(
    threat.engaged && /^Safety engaged: this request scored (0\.\d\d|1\.00) against a threshold of 0\.64\.$/.test(threat.text),
    `a threat did not open the safety gate: ${JSON.stringify(threat.text)}`,
  );
  const everyday = await gateOf("How do I kill a Python process?");
  console.log(`safety 1, an everyday question: ${everyday.text}`);
  assert(
    !everyday.engaged && /^Safety gate closed: this request scored 0\.\d\d, below the threshold of 0\.64\.$/.test(everyday.text),
    `an everyday question opened the safety gate: ${JSON.stringify(everyday.text)}`,
  );
  await page.getByTestId("reset-safety").click();

  // 3. Offline: the service worker serves the shell, the worker's cache the model.
  const offlineReady = () =>
    page.evaluate(async () => ({
      registered: (await navigator.serviceWorker.getRegistrations()).length,
      controlled: Boolean(navigator.serviceWorker.controller),
      models: (await (await caches.open("tiller-models-v1")).keys()).length,
      caches: await caches.keys(),
      // The engine builds the shell keeps: only the one this page started (public/sw.js).
      engines: await (async () => {
        const shell = (await caches.keys()).find((n) => n.startsWith("tiller-shell-"));
        if (!shell) return [];
        const keys = await (await caches.open(shell)).keys();
        return keys.map((r) => r.url.split("/").pop()).filter((f) => /^tiller-worker.*_bg\.wasm$/.test(f));
      })(),
    }));
  const cached = await poll(
    async () => {
      const state = await offlineReady();
      return state.controlled && state.models > 0 && state.engines.length > 0 && state;
    },
    2 * MINUTE,
    "the service worker to control the page, the model to be in tiller-models-v1 and the engine in the shell",
  ).catch(async (e) => {
    throw new Error(`${e.message}: ${JSON.stringify(await offlineReady())} (does the page register sw.js?)`);
  });
  console.log(`before going offline: caches ${JSON.stringify(cached.caches)}, engines kept ${cached.engines}`);
  assert(
    cached.engines.join() === "tiller-worker_bg.wasm",
    `the shell should keep only the CPU-only engine this page started, it has [${cached.engines}]`,
  );
  await context.setOffline(true);
  log.reset();
  const t1 = Date.now();
  const reload = await page.reload();
  assert(reload?.fromServiceWorker(), "offline, the page did not come from the service worker");
  const offline = await waitLoaded(page, log, 10 * MINUTE);
  assert(offline.phase === "ready", `offline, the model did not load: ${offline.error}`);
  const phases = await page.evaluate(() => window.__phases);
  assert(
    offline.ready.model.from_cache || phases.includes("cache"),
    `offline, the model did not come from the cache (phases ${phases}, from_cache ${offline.ready.model.from_cache})`,
  );
  console.log(`offline reload: ready in ${seconds(Date.now() - t1)} (${phases.join(" → ")}, from_cache ${offline.ready.model.from_cache})`);

  // 4. A truncated GGUF: one line of error, and the page goes on working.
  const tiny = readFileSync(TINY);
  log.reset();
  await page.getByTestId("model-file").setInputFiles({
    name: "truncated.gguf",
    mimeType: "application/octet-stream",
    buffer: tiny.subarray(0, 3000),
  });
  const broken = await waitLoaded(page, log, 2 * MINUTE);
  assert(broken.phase === "error", `a truncated file reached phase ${broken.phase}`);
  assert(await page.getByTestId("load-error").isVisible(), "load-error is not visible");
  assert(broken.error.length > 0 && !broken.error.includes("\n"), `not a one-line error: ${JSON.stringify(broken.error)}`);
  console.log(`truncated file: ${JSON.stringify(broken.error)}`);
  log.reset();
  await page.getByTestId("model-file").setInputFiles({ name: "tiny.gguf", mimeType: "application/octet-stream", buffer: tiny });
  const recovered = await waitLoaded(page, log, 2 * MINUTE);
  assert(recovered.phase === "ready", `after the error, a good file did not load: ${recovered.error}`);
  assert((await page.getByTestId("load-error").count()) === 0, "load-error is still shown after a good load");
  console.log(`then tiny.gguf loads (n_embd ${recovered.ready.model.n_embd})`);

  // 5. Same origin only, and the recorder did see the worker's traffic.
  assert(foreign.length === 0, `requests to other origins: ${[...new Set(foreign)].join(", ")}`);
  const sawModel = seen.some((p) => p.endsWith(".gguf"));
  assert(sawModel, "no request for the model was recorded: the same-origin check would miss the worker");
  console.log(`${seen.length} requests, all to ${origin}`);
  // 6. All of the above ran under the site's Content-Security-Policy.
  await checkCsp(page, log);
  reportPageErrors(log);
  console.log("chat.mjs: passed (CPU backend, full model, steering, offline, bad file)");
} catch (e) {
  reportPageErrors(log);
  await page.screenshot({ path: "/tmp/tiller-chat-failure.png" }).catch(() => {});
  await close();
  fail(`${e.message} (screenshot: /tmp/tiller-chat-failure.png)`);
}
await close();

// The app on WebGPU with the tiny random-weight model (fixtures/tiny.gguf, kept equal to the
// engine tests' `tiny::gguf` by engine/tests/native/tiny.rs): upload, load, generate a few tokens. (Its
// random weights answer only newlines, so the text says nothing; the engine's own browser test
// compares WebGPU's logits with the CPU's.)
//
// Without a WebGPU adapter it prints "WebGPU test did not run: <reason>" and exits 0. Chromium's
// SwiftShader adapter logs harmless "RuntimeError: unreachable" page errors while burn autotunes
// its kernels, so page errors are reported, not failures.

import { MINUTE, appUrl, assert, chat, fail, launch, protocolLog, reportPageErrors, seconds, waitLoaded } from "./lib.mjs";

const TINY = new URL("./fixtures/tiny.gguf", import.meta.url).pathname;
setTimeout(() => fail("webgpu_tiny.mjs took longer than 15 minutes"), 15 * MINUTE).unref();

/** Load the tiny model on WebGPU and reply to "hello"; { skipped } when WebGPU is unavailable. */
async function run() {
  const backend = "webgpu";
  const { page, close } = await launch({ webgpu: true });
  const log = protocolLog(page);
  try {
    await page.goto(appUrl({ backend, model: "none", temperature: 0, max_tokens: 8 }));
    const noAdapter = await page.evaluate(async () => {
      if (!navigator.gpu) return "navigator.gpu is missing";
      return (await navigator.gpu.requestAdapter()) ? null : "requestAdapter() returned null";
    });
    if (noAdapter) return { skipped: `the page has no WebGPU adapter (${noAdapter})` };
    const t0 = Date.now();
    await page.getByTestId("model-file").setInputFiles(TINY);
    const loaded = await waitLoaded(page, log, 5 * MINUTE);
    const shown = (await page.getByTestId("backend").textContent().catch(() => "")).trim();
    if (/unavailable|not available|no adapter/i.test(`${loaded.error ?? ""} ${shown}`)) {
      return { skipped: `the app reports ${JSON.stringify(loaded.error || shown)}` };
    }
    assert(loaded.phase === "ready", `tiny.gguf did not load on ${backend}: ${loaded.error}`);
    assert(/WebGPU/.test(shown), `backend=webgpu, but the page says "${shown}"`);
    const loadMs = Date.now() - t0;
    const reply = await chat(page, log, "hello", 10 * MINUTE);
    assert(reply.done.Done, `generation failed on ${backend}: ${JSON.stringify(reply.done)}`);
    const stats = reply.done.Done.stats;
    assert(stats.generated_tokens > 0, `no tokens generated on ${backend}: ${JSON.stringify(stats)}`);
    const statsText = (await page.getByTestId("stats").textContent()).trim();
    console.log(
      `${backend} (${shown}): loaded in ${seconds(loadMs)}, ${stats.generated_tokens} tokens in ${seconds(reply.ms)} ` +
        `[${statsText}]: ${JSON.stringify(reply.text)}`,
    );
    assert(log.engines.at(-1) === "./tiller-worker-webgpu.js", `backend=webgpu started [${log.engines}]`);

    // Choosing the CPU ends the WebGPU worker and reloads the model in the CPU-only one.
    log.mark = log.responses.length;
    await page.getByTestId("backend-select").selectOption("cpu");
    const reloaded = await log.wait((r) => r.Ready || r.LoadFailed, 5 * MINUTE, "the reload on the CPU");
    assert(reloaded.Ready, `tiny.gguf did not reload on the CPU: ${JSON.stringify(reloaded)}`);
    assert(log.engines.at(-1) === "./tiller-worker.js", `after choosing the CPU the page runs [${log.engines}]`);
    await page.waitForFunction(() => /CPU/.test(document.querySelector('[data-testid="backend"]')?.textContent ?? ""), null, {
      timeout: 10_000,
    });
    const cpuShown = (await page.getByTestId("backend").textContent()).trim();
    // The tiny model's context (64) holds one short exchange, not two.
    await page.getByTestId("clear").click();
    const cpuReply = await chat(page, log, "hello", 5 * MINUTE);
    assert(cpuReply.done.Done, `generation failed after the switch: ${JSON.stringify(cpuReply.done)}`);
    console.log(`switched to the CPU-only worker (${cpuShown}): ${JSON.stringify(cpuReply.text)}`);
    reportPageErrors(log);
    return { tokens: stats.generated_tokens };
  } catch (e) {
    reportPageErrors(log);
    throw e;
  } finally {
    await close();
  }
}

try {
  const gpu = await run();
  if (gpu.skipped) {
    console.log(`WebGPU test did not run: ${gpu.skipped}`);
    process.exit(0);
  }
  console.log(`webgpu_tiny.mjs: passed (WebGPU ran: the tiny model loaded and generated ${gpu.tokens} tokens)`);
} catch (e) {
  fail(e.message);
}

// Steering vectors made in the browser, on the CPU backend with the real model: a vector built
// from typed pairs (progress shown, a new slider), downloaded as a llama.cpp control-vector GGUF,
// imported back as another slider, as is a plain llama.cpp-style file; a build from a built-in pair set that is cancelled; bad files
// refused with one line while the app keeps working; and the new slider's coefficient in the
// next Generate request.
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
  protocolLog,
  reportPageErrors,
  seconds,
  waitLoaded,
} from "./lib.mjs";

const SENTIMENT_GGUF = new URL("../../public/vectors/sentiment.gguf", import.meta.url);
const TINY = new URL("./fixtures/tiny.gguf", import.meta.url);
setTimeout(() => fail("vectors.mjs took longer than 30 minutes"), 30 * MINUTE).unref();

// Short pairs, so the build takes seconds: the positive reply is the +1 end.
const PAIRS = [
  "How was your day? | It was wonderful, thank you! | It was awful, as usual.",
  "What do you think of rain? | I love the fresh smell it leaves. | I hate how gloomy it makes everything.",
  "How is the new job? | Great, my colleagues are lovely! | Terrible, my colleagues are rude.",
  "Any plans for the weekend? | Yes, a fun picnic with friends! | No, nothing good ever happens.",
];
const LAYERS = [3, 5];

/** A llama.cpp control-vector GGUF (v3, F32 `direction.N` tensors) of the given width. */
function controlVector(width, layers) {
  const u32 = (v) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const u64 = (v) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  const str = (s) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
  const head = [Buffer.from("GGUF"), u32(3), u64(layers.length), u64(1)];
  head.push(str("general.architecture"), u32(8), str("controlvector"));
  layers.forEach((layer, i) => head.push(str(`direction.${layer}`), u32(1), u64(width), u32(0), u64(i * width * 4)));
  let header = Buffer.concat(head);
  header = Buffer.concat([header, Buffer.alloc((32 - (header.length % 32)) % 32)]);
  const data = new Float32Array(width * layers.length).fill(0.01);
  return Buffer.concat([header, Buffer.from(data.buffer)]);
}

const { page, close } = await launch();
const log = protocolLog(page);
// Everything the build's progress line said, as the page showed it.
await page.addInitScript(() => {
  window.__buildTexts = [];
  new MutationObserver(() => {
    const text = document.querySelector('[data-testid="build-progress-text"]')?.textContent;
    if (text && window.__buildTexts.at(-1) !== text) window.__buildTexts.push(text);
  }).observe(document, { subtree: true, childList: true, characterData: true });
});

/** Wait for the worker's answer about vector `id`: VectorAdded, BuildFailed or ImportFailed. */
const outcome = (id, timeout) =>
  log.wait(
    (r) =>
      (r.VectorAdded && r.VectorAdded.id === id) ||
      (r.BuildFailed && r.BuildFailed.id === id) ||
      (r.ImportFailed && r.ImportFailed.id === id),
    timeout,
    `VectorAdded, BuildFailed or ImportFailed for ${id}`,
  );

/** Click a download link and return { name, bytes }. */
async function download(testid) {
  const [file] = await Promise.all([page.waitForEvent("download", { timeout: 60_000 }), page.getByTestId(testid).click()]);
  const path = await file.path();
  return { name: file.suggestedFilename(), bytes: readFileSync(path) };
}

/** Import `buffer` as file `name`; returns the worker's answer. */
async function importFile(name, buffer, expectId) {
  log.reset();
  await page.getByTestId("vector-file").setInputFiles({ name, mimeType: "application/octet-stream", buffer });
  return outcome(expectId, 2 * MINUTE);
}

/** The one-line error shown under the import button. */
async function importError() {
  const error = page.getByTestId("import-error");
  await error.waitFor({ timeout: 30_000 });
  const text = (await error.textContent()).trim();
  assert(text.length > 0 && !text.includes("\n"), `not a one-line error: ${JSON.stringify(text)}`);
  return text;
}

try {
  const t0 = Date.now();
  await page.goto(appUrl({ backend: "cpu", temperature: 0, max_tokens: 8 }));
  const loaded = await waitLoaded(page, log, 15 * MINUTE);
  assert(loaded.phase === "ready", `the default model did not load: ${loaded.error}`);
  const n_embd = loaded.ready.model.n_embd;
  console.log(`loaded in ${seconds(Date.now() - t0)} (n_embd ${n_embd}, ${loaded.ready.model.n_layer} blocks)`);

  // 1. A typed pair with a missing part is refused with its line number, before any work.
  await page.getByTestId("build-section").locator("summary").click();
  await page.getByTestId("build-pairs").fill(`${PAIRS[0]}\nonly a prompt | and one reply`);
  await page.getByTestId("build-start").click();
  const formError = (await page.getByTestId("build-form-error").textContent()).trim();
  assert(/^line 2\b/.test(formError), `the form error does not name line 2: ${JSON.stringify(formError)}`);
  console.log(`a bad typed pair: ${JSON.stringify(formError)}`);

  // 2. Build from typed pairs on a narrow layer range: progress, then a new slider.
  await page.getByTestId("build-name").fill("Cheer test");
  await page.getByTestId("build-low").fill("gloomy");
  await page.getByTestId("build-high").fill("cheerful");
  await page.getByTestId("build-pairs").fill(PAIRS.join("\n"));
  await page.getByTestId("build-layer-start").fill(String(LAYERS[0]));
  await page.getByTestId("build-layer-end").fill(String(LAYERS[1]));
  log.reset();
  const t1 = Date.now();
  await page.getByTestId("build-start").click();
  await page.getByTestId("build-progress").waitFor({ timeout: 10_000 });
  const built = await outcome("cheer-test", 10 * MINUTE);
  assert(built.VectorAdded, `the build failed: ${JSON.stringify(built)}`);
  const info = built.VectorAdded;
  const request = log.requests.filter((r) => r.BuildVector).at(-1).BuildVector;
  assert(request.pairs.Typed.pairs.length === PAIRS.length, `BuildVector carried ${JSON.stringify(request.pairs)}`);
  const progress = log.responses.slice(log.mark).filter((r) => r.BuildProgress).map((r) => r.BuildProgress);
  assert(progress.length >= 2 && progress.every((p) => p.total === PAIRS.length), `progress: ${JSON.stringify(progress)}`);
  assert(progress.at(-1).done === PAIRS.length, `the last progress is ${JSON.stringify(progress.at(-1))}`);
  const shown = await page.evaluate(() => window.__buildTexts);
  assert(shown.some((t) => /pairs \d+\/4/.test(t)), `the page never showed "pairs n/4": ${JSON.stringify(shown)}`);
  assert(
    info.layers[0] === LAYERS[0] && info.layers[1] === LAYERS[1] && info.strength > 0 && info.label === "Cheer test",
    `VectorAdded: ${JSON.stringify(info)}`,
  );
  const slider = page.getByTestId("slider-cheer-test");
  await slider.waitFor({ timeout: 10_000 });
  assert(await slider.isEnabled(), "the new slider is disabled");
  const status = (await page.getByTestId("build-status").textContent()).trim();
  console.log(
    `built "${info.label}" in ${seconds(Date.now() - t1)}: blocks ${info.layers.join("–")}, strength ${info.strength.toFixed(3)}; ` +
      `progress ${progress.map((p) => `${p.done}/${p.total}`).join(" ")}; page: ${JSON.stringify(shown)}; ${JSON.stringify(status)}`,
  );

  // 3. Download it: a control-vector GGUF with the built blocks only.
  const file = await download("download-cheer-test");
  const text = file.bytes.toString("latin1");
  assert(file.name === "cheer-test.gguf", `the download is called ${file.name}`);
  assert(text.startsWith("GGUF"), `the download does not start with GGUF: ${JSON.stringify(text.slice(0, 8))}`);
  for (let layer = LAYERS[0]; layer <= LAYERS[1]; layer++) {
    assert(text.includes(`direction.${layer}`), `the download has no direction.${layer}`);
  }
  assert(!text.includes(`direction.${LAYERS[1] + 1}`), `the download steers past block ${LAYERS[1]}`);
  assert(text.includes("controlvector"), "the download is not marked as a control vector");
  console.log(`downloaded ${file.name}: ${file.bytes.length} bytes`);

  // A built-in vector downloads as the file the site serves.
  const builtin = await download("download-sentiment");
  assert(builtin.name === "sentiment.gguf", `the built-in download is called ${builtin.name}`);
  assert(builtin.bytes.equals(readFileSync(SENTIMENT_GGUF)), "sentiment.gguf downloads other bytes than public/vectors has");
  console.log(`downloaded sentiment.gguf: ${builtin.bytes.length} bytes, equal to public/vectors/sentiment.gguf`);

  // 4. Import the downloaded file back: another slider, same blocks and strength.
  const imported = await importFile("cheer-test.gguf", file.bytes, "cheer-test-2");
  assert(imported.VectorAdded, `the import failed: ${JSON.stringify(imported)}`);
  const again = imported.VectorAdded;
  assert(again.layers[0] === LAYERS[0] && again.layers[1] === LAYERS[1], `imported blocks ${again.layers}`);
  assert(Math.abs(again.strength - info.strength) < 1e-3 * info.strength, `imported strength ${again.strength} vs ${info.strength}`);
  await page.getByTestId("slider-cheer-test-2").waitFor({ timeout: 10_000 });
  console.log(`imported it back as "${again.label}" (${again.id}): blocks ${again.layers.join("–")}, strength ${again.strength.toFixed(3)}`);

  // A file as llama.cpp's cvector-generator writes it (no Tiller statistics): its strength comes
  // from the loaded model's residual norms, measured on a fixed text.
  const plain = await importFile("cvec-plain.gguf", controlVector(n_embd, [2, 3, 4]), "cvec-plain");
  assert(plain.VectorAdded, `a plain control vector was refused: ${JSON.stringify(plain)}`);
  const p = plain.VectorAdded;
  assert(p.layers[0] === 2 && p.layers[1] === 4 && p.strength > 0 && Number.isFinite(p.strength), `plain: ${JSON.stringify(p)}`);
  await page.getByTestId("slider-cvec-plain").waitFor({ timeout: 10_000 });
  console.log(`a plain control vector (blocks 2–4, |d| ${(0.01 * Math.sqrt(n_embd)).toFixed(2)}): strength ${p.strength.toFixed(3)}`);

  // 5. Bad files: one line each, nothing added.
  const before = await page.locator('[data-testid^="slider-"]').count();
  const garbage = await importFile("broken.gguf", Buffer.from("this is not a gguf file at all"), "broken");
  assert(garbage.ImportFailed, `a text file was accepted: ${JSON.stringify(garbage)}`);
  console.log(`a text file: ${JSON.stringify(await importError())}`);
  const wide = await importFile("llama-7b.gguf", controlVector(4096, [10, 11]), "llama-7b");
  assert(wide.ImportFailed?.error?.OtherWidth, `a 4096-wide vector was accepted: ${JSON.stringify(wide)}`);
  const wideError = await importError();
  assert(wideError.includes("4096-wide") && wideError.includes(String(n_embd)), `the width error: ${JSON.stringify(wideError)}`);
  console.log(`a 4096-wide vector: ${JSON.stringify(wideError)}`);
  const model = await importFile("tiny.gguf", readFileSync(TINY), "tiny");
  assert(model.ImportFailed, `a model file was accepted as a vector: ${JSON.stringify(model)}`);
  console.log(`a model file: ${JSON.stringify(await importError())}`);
  assert((await page.locator('[data-testid^="slider-"]').count()) === before, "a bad file added a slider");

  // 6. A build from a built-in pair set (served beside the page), cancelled after its first chunk.
  await page.getByTestId("build-name").fill("Sentiment again");
  await page.getByTestId("build-dataset").selectOption("sentiment");
  log.reset();
  await page.getByTestId("build-start").click();
  const first = await log.wait((r) => r.BuildProgress && r.BuildProgress.done > 0, 5 * MINUTE, "the first chunk of sentiment pairs");
  // Chat goes on meanwhile: the reply and the build's chunks take turns on the model.
  const during = await chat(page, log, "Say hello.", 10 * MINUTE);
  assert(during.done.Done, `a reply during the build failed: ${JSON.stringify(during.done)}`);
  const building = await page.getByTestId("build-cancel").isVisible();
  assert(building, "the build ended by itself during the reply");
  await page.getByTestId("build-cancel").click();
  const cancelled = await outcome("sentiment-again", 5 * MINUTE);
  assert(cancelled.BuildFailed?.error === "Cancelled", `the cancelled build ended with ${JSON.stringify(cancelled)}`);
  const buildError = (await page.getByTestId("build-error").textContent()).trim();
  assert(/cancelled/.test(buildError), `the build error: ${JSON.stringify(buildError)}`);
  console.log(
    `sentiment pairs: ${first.BuildProgress.done}/${first.BuildProgress.total}; a reply meanwhile in ${seconds(during.ms)}: ` +
      `${JSON.stringify(during.text)}; then ${JSON.stringify(buildError)}`,
  );

  // 7. The app keeps working: the new slider's coefficient goes with the next Generate.
  await slider.focus();
  for (let i = 0; i < 4; i++) await slider.press("ArrowRight");
  const value = Number(await slider.inputValue());
  assert(value > 0, `four ArrowRight presses left the new slider at ${value}`);
  const reply = await chat(page, log, "Describe your morning in one sentence.", 10 * MINUTE);
  assert(reply.done.Done, `generation with the new vector failed: ${JSON.stringify(reply.done)}`);
  const coef = lastGenerate(log)?.coefs?.["cheer-test"];
  assert(typeof coef === "number" && Math.abs(coef - value) < 1e-4, `the slider shows ${value} but Generate sent ${coef}`);
  console.log(`cheer-test ${value}: Generate carried ${coef}; reply in ${seconds(reply.ms)}: ${JSON.stringify(reply.text)}`);

  reportPageErrors(log);
  await checkCsp(page, log);
  console.log("vectors.mjs: passed (build with progress, download, import, bad files, cancel, steering with the new slider)");
} catch (e) {
  reportPageErrors(log);
  await page.screenshot({ path: "/tmp/tiller-vectors-failure.png", fullPage: true }).catch(() => {});
  await close();
  fail(`${e.message} (screenshot: /tmp/tiller-vectors-failure.png)`);
}
await close();

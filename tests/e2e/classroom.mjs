// Classroom mode with the real model on the CPU (burn-flex): Compare runs one prompt with the same
// seed unsteered and steered, both streaming, and marks where they part; the unsteered side is
// exactly the chat's reply to that prompt and seed; inside the model, the steered block's reading
// moves by exactly coefficient × strength; the heatmap, its hover numbers, the next-token bars
// and the token strip work by mouse and keyboard, in English and Chinese; Stop ends a comparison.
//
// Run by `cargo xtask test` (TILLER_URL = dist/ served under /tiller/). With TILLER_SCREENSHOTS
// set to a folder, it saves screenshots of the Compare and Inside views there.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  MINUTE,
  appUrl,
  assert,
  chat,
  checkCsp,
  fail,
  launch,
  protocolLog,
  rates,
  reportPageErrors,
  seconds,
  waitLoaded,
} from "./lib.mjs";

setTimeout(() => fail("classroom.mjs took longer than 20 minutes"), 20 * MINUTE).unref();

const SHOTS = process.env.TILLER_SCREENSHOTS;
if (SHOTS) mkdirSync(SHOTS, { recursive: true });
async function shot(page, name, fullPage = true) {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, name), fullPage });
}

const PROMPT = "Describe your morning in two sentences.";
const SEED = 3;
const LENGTH = 20;
const text = async (page, testid) => (await page.getByTestId(testid).textContent()).trim();
/** A reply column's text as shown, without the words only screen readers get. */
const replyText = (page, testid) =>
  page.getByTestId(testid).evaluate((el) => {
    const copy = el.cloneNode(true);
    copy.querySelectorAll(".visually-hidden").forEach((e) => e.remove());
    return copy.textContent.trim();
  });

/** Start a comparison from the Compare view and wait for its end; returns the logged messages. */
async function runCompare(page, log, timeout) {
  log.reset();
  const from = log.responses.length;
  await page.getByTestId("compare-run").click();
  const done = await log.wait((r) => r.CompareDone || r.CompareFailed, timeout, "CompareDone");
  assert(done.CompareDone, `the comparison failed: ${JSON.stringify(done.CompareFailed)}`);
  const responses = log.responses.slice(from);
  return {
    request: log.requests.filter((r) => r.Compare).at(-1).Compare,
    started: responses.find((r) => r.CompareStarted)?.CompareStarted,
    steps: responses.filter((r) => r.CompareStep).map((r) => r.CompareStep),
    done: done.CompareDone,
  };
}

const { page, close } = await launch();
const log = protocolLog(page);
try {
  const t0 = Date.now();
  // A shared link opens the Compare view with its prompt, seed and slider.
  const shared = { backend: "flex", max_tokens: LENGTH, seed: SEED, lang: "en", view: "compare", prompt: PROMPT };
  await page.goto(appUrl({ ...shared, "s.sentiment": -1 }));
  const loaded = await waitLoaded(page, log, 15 * MINUTE);
  assert(loaded.phase === "ready", `the default model did not load: ${loaded.error}`);
  console.log(`loaded in ${seconds(Date.now() - t0)}`);
  assert(await page.getByTestId("compare").isVisible(), "view=compare did not open the Compare view");
  assert((await page.getByTestId("compare-prompt").inputValue()) === PROMPT, "the shared prompt is not in Compare");
  assert((await page.getByTestId("compare-seed").inputValue()) === String(SEED), "the shared seed is not in Compare");
  assert((await page.getByTestId("slider-sentiment").inputValue()) === "-1", "s.sentiment=-1 was not applied");

  // The seed is the settings' seed: a change here shows there; a bad value gets one line.
  await page.getByTestId("compare-seed").fill("5");
  assert((await page.getByTestId("seed").inputValue()) === "5", "the settings' seed did not follow Compare's");
  await page.getByTestId("compare-seed").fill("-1");
  const seedError = await page.locator('[data-testid="compare-seed"] ~ .field-error').textContent();
  assert(seedError.trim().length > 0, "no error for seed -1");
  await page.getByTestId("compare-seed").fill(String(SEED));
  assert((await page.locator('[data-testid="compare-seed"] ~ .field-error').count()) === 0, "the seed error stayed");

  // The view tabs work from the keyboard.
  await page.getByTestId("tab-compare").focus();
  await page.keyboard.press("ArrowLeft");
  assert((await page.getByTestId("tab-chat").getAttribute("aria-selected")) === "true", "ArrowLeft did not select Chat");
  await page.keyboard.press("ArrowRight");
  assert((await page.getByTestId("tab-compare").getAttribute("aria-selected")) === "true", "ArrowRight did not select Compare");

  // Without steering the view says both sides will be the same.
  await page.getByTestId("reset-sentiment").click();
  assert(await page.getByTestId("compare-no-steering").isVisible(), "no warning that both sides will be the same");
  await page.getByTestId("slider-sentiment").fill("-1");
  const steeredWith = await text(page, "compare-steering");
  assert(/Sentiment/.test(steeredWith) && /1\.00/.test(steeredWith), `steering line: ${steeredWith}`);
  await page.getByTestId("compare-length").fill(String(LENGTH));
  await page.getByTestId("compare-length").dispatchEvent("change");
  const t1 = Date.now();
  const run = await runCompare(page, log, 5 * MINUTE);
  const steps = run.steps.length;
  const stepRate = ((steps - 1) * 1000) / run.done.stats.decode_ms;
  console.log(`compare: ${steps} steps in ${seconds(Date.now() - t1)}; ${stepRate.toFixed(1)} steps/s after the first (3 sequences a step)`);
  assert(run.request.coefs.sentiment === -1, `Compare request coefs: ${JSON.stringify(run.request.coefs)}`);
  assert(run.request.sampling.seed === SEED && run.request.sampling.max_tokens === LENGTH, "seed or length not sent");
  assert(JSON.stringify(run.started.concepts) === '["sentiment","formality","safety"]', `concepts ${run.started.concepts}`);
  assert(run.started.n_layer === 30, `n_layer ${run.started.n_layer}`);
  // The safety slider is at 0: no gated part, so no gate reading; its gate is described under it.
  assert(run.started.gate == null, `a gate was read with safety at 0: ${JSON.stringify(run.started.gate)}`);
  const gated = await page.getByTestId("steering-gated").allTextContents();
  assert(gated.some((t) => /gate opens/.test(t) && /block 15/.test(t)), `safety's gated part is not described: ${gated}`);

  // Inside the model, at the first token: block 14 is the first the sentiment vector steers, so
  // the steered stream's projection there differs from the unsteered one at the same context by
  // exactly coefficient × strength = −1 × 4.
  const first = run.steps[0].steered;
  const k = run.started.concepts.length;
  const gain = first.projections[14 * k] - first.unsteered[14 * k];
  assert(Math.abs(gain + 4) < 0.05, `block 14 sentiment gain ${gain}, expected −4`);
  assert(first.projections[13 * k] === first.unsteered[13 * k], "block 13 is before the steering and must not move");
  assert(first.projections[0] === null, "block 0 has no sentiment direction and must read null");
  assert(first.top.some((c) => Math.abs(c.before - c.after) > 1e-3), "steering shifted no next-token probability");
  console.log(`inside: block 14 sentiment moved by ${gain.toFixed(3)} (−1 × strength 4)`);

  // The two replies part, and the first difference is marked in both columns at the same token.
  const plainText = await replyText(page, "compare-plain");
  const steeredText = await replyText(page, "compare-steered");
  assert(plainText && steeredText && plainText !== steeredText, `replies:\n  ${plainText}\n  ${steeredText}`);
  const marks = await page.locator(".tok.parted").evaluateAll((els) => els.map((e) => e.dataset.index));
  assert(marks.length === 2 && marks[0] === marks[1], `parted marks: ${JSON.stringify(marks)}`);
  const summary = await text(page, "compare-summary");
  assert(summary.includes(`token ${marks[0]}`), `summary: ${summary}`);
  console.log(`parted at token ${marks[0]}:\n  plain:   ${plainText}\n  steered: ${steeredText}`);
  await shot(page, "compare-en.png");

  // Sharing from Compare gives a link to this comparison: its view, prompt, seed and slider.
  await page.getByTestId("share-toggle").click();
  const link = new URL(await page.getByTestId("share-url").inputValue());
  const got = Object.fromEntries(link.searchParams);
  assert(got.view === "compare" && got.prompt === PROMPT && got.seed === String(SEED), `share link ${link}`);
  assert(got["s.sentiment"] === "-1.00", `share link sentiment: ${got["s.sentiment"]}`);
  await page.keyboard.press("Escape");

  // The unsteered side is exactly the chat's reply to the same prompt and seed without steering.
  await page.getByTestId("reset-sentiment").click();
  await page.getByTestId("tab-chat").click();
  const reply = await chat(page, log, PROMPT, 5 * MINUTE);
  assert(reply.text === plainText, `chat reply differs from the unsteered side:\n  ${reply.text}\n  ${plainText}`);
  const chatRate = rates(reply.done.Done.stats).decode;
  console.log(`the unsteered side equals the chat's reply (same prompt, seed, settings); chat decode ${chatRate.toFixed(1)} tok/s`);

  // Inside view: the heatmap has a column per steered token and a row per block.
  await page.getByTestId("tab-compare").click();
  await page.getByTestId("compare-steered-inside").click();
  assert(await page.getByTestId("inside").isVisible(), "Look inside did not open the Inside view");
  const columns = await page.locator('[data-testid="heatmap"] g[data-token]').count();
  const n = run.steps.filter((s) => s.steered).length;
  assert(columns === n, `heatmap columns ${columns}, steered tokens ${n}`);
  const rects = await page.locator('[data-testid="heatmap"] g[data-token="0"] rect').count();
  assert(rects === 30, `${rects} cells in a column, expected 30 blocks`);

  // Hovering a cell shows its numbers; in "change" mode block 14 at token 0 moved by −4.
  // The heatmap's layout (heatmap.rs): LEFT + CELL_W / 2, TOP + block × CELL_H + 5.
  const hoverCell = async (block, token, nudge = 0) => {
    const box = await page.getByTestId("heatmap").boundingBox();
    await page.mouse.move(box.x + 64 + token * 14 + 7, box.y + 6 + block * 11 + 5 + nudge);
  };
  await hoverCell(14, 0);
  let readout = await text(page, "heatmap-readout");
  assert(/block 14, token 0: projection/.test(readout), `reading readout: ${readout}`);
  await page.getByTestId("inside-mode-change").check();
  await hoverCell(14, 0, 1);
  readout = await text(page, "heatmap-readout");
  assert(/moved the projection by -4\.0/.test(readout), `change readout: ${readout}`);
  console.log(`hover: ${readout}`);

  // The token strip by keyboard: End selects the last token, and the bars follow.
  await page.locator("#strip-tok-0").click();
  await page.keyboard.press("ArrowRight");
  const bars = (await page.getByTestId("shift-bars").locator("figcaption strong").textContent()).trim();
  assert(bars.includes("token 1"), `bars after ArrowRight: ${bars}`);
  assert((await page.locator("#strip-tok-1").getAttribute("aria-selected")) === "true", "ArrowRight did not select token 1");
  const barRows = await page.locator('[data-testid="shift-bars"] g.bar-row').count();
  assert(barRows >= 2, `${barRows} candidate rows`);
  await page.getByTestId("inside-mode-reading").check();
  await page.locator("#strip-tok-0").click();
  await hoverCell(14, 0);
  await shot(page, "inside-en.png");

  // In Chinese.
  await page.getByTestId("language").selectOption("zh-CN");
  assert((await page.locator("#inside-title").textContent()).trim() === "模型内部", "Inside title not in Chinese");
  await hoverCell(14, 0, 1);
  readout = await text(page, "heatmap-readout");
  assert(readout.includes("第 14 块"), `Chinese readout: ${readout}`);
  await shot(page, "inside-zh.png");
  await page.getByTestId("theme").selectOption("dark");
  await shot(page, "inside-dark.png");
  await page.getByTestId("theme").selectOption("system");
  await page.getByTestId("tab-compare").click();
  await shot(page, "compare-zh.png");
  await page.getByTestId("language").selectOption("en");

  // Stop ends a long comparison on both sides.
  await page.getByTestId("slider-formality").fill("1");
  await page.getByTestId("compare-length").fill("200");
  await page.getByTestId("compare-length").dispatchEvent("change");
  log.reset();
  await page.getByTestId("compare-run").click();
  await log.wait((r) => r.CompareStep && r.CompareStep.step >= 2, 3 * MINUTE, "three steps");
  await page.getByTestId("compare-stop").click();
  const stopped = await log.wait((r) => r.CompareDone || r.CompareFailed, MINUTE, "CompareDone after Stop");
  assert(stopped.CompareDone?.steered === "Stopped", `after Stop: ${JSON.stringify(stopped)}`);
  console.log(`stop: ended after ${stopped.CompareDone.stats.generated_tokens} tokens`);

  // A phone-sized screen: one column, nothing scrolls sideways but the heatmap's own box.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const view of ["compare", "inside"]) {
    await page.getByTestId(`tab-${view}`).click();
    const { scroll, inner } = await page.evaluate(() => ({ scroll: document.scrollingElement.scrollWidth, inner: innerWidth }));
    assert(scroll <= inner, `${view} on a phone scrolls sideways (${scroll} > ${inner})`);
  }
  await shot(page, "phone-inside.png");

  reportPageErrors(log);
  await checkCsp(page, log);
  console.log("classroom.mjs: passed (compare, parting, unsteered = chat, readings, heatmap, bars, keyboard, Chinese, stop, phone)");
} catch (e) {
  await shot(page, "classroom-failure.png").catch(() => {});
  fail(e.stack || String(e));
} finally {
  await close();
}

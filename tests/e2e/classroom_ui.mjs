// The classroom features on the CPU backend with the real model: the language switch keeps what
// the user typed and set, the Learn view and its diagram in both languages, presets, a share link
// that restores sliders, prompt and seed, Markdown and JSON exports, the theme switch, a phone
// layout without sideways scrolling, keyboard use of a slider, and a name for every control.
//
// Run by `cargo xtask test` (TILLER_URL = dist/ served under /tiller/). With TILLER_SCREENSHOTS
// set to a folder, it saves screenshots there.

import { mkdirSync, readFileSync } from "node:fs";
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
  reportPageErrors,
  seconds,
  waitLoaded,
} from "./lib.mjs";

setTimeout(() => fail("classroom_ui.mjs took longer than 20 minutes"), 20 * MINUTE).unref();

const SHOTS = process.env.TILLER_SCREENSHOTS;
if (SHOTS) mkdirSync(SHOTS, { recursive: true });
async function shot(page, name, fullPage = true) {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, name), fullPage });
}

const text = async (page, testid) => (await page.getByTestId(testid).textContent()).trim();
const sliderValue = async (page, id) => Number(await page.getByTestId(`slider-${id}`).inputValue());

/** Controls (buttons, fields, selects, sliders) in the accessibility tree without a name. */
async function unnamedControls(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send("Accessibility.getFullAXTree");
  await cdp.detach();
  const roles = new Set(["button", "textbox", "combobox", "slider", "spinbutton", "checkbox", "searchbox", "tab", "link"]);
  return nodes
    .filter((n) => !n.ignored && roles.has(n.role?.value) && !(n.name?.value ?? "").trim())
    .map((n) => `${n.role.value}#${n.backendDOMNodeId}`);
}

async function noSideways(page, where) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.scrollingElement.scrollWidth,
    inner: window.innerWidth,
  }));
  assert(scroll <= inner, `${where}: the page scrolls sideways (${scroll} > ${inner})`);
}

const { context, page, close } = await launch();
const log = protocolLog(page);
try {
  const t0 = Date.now();
  await page.goto(appUrl({ backend: "cpu", temperature: 0, max_tokens: 8, lang: "en" }));
  const loaded = await waitLoaded(page, log, 15 * MINUTE);
  assert(loaded.phase === "ready", `the default model did not load: ${loaded.error}`);
  console.log(`loaded in ${seconds(Date.now() - t0)}`);

  // 1. Keyboard: Tab reaches the sentiment slider; arrow keys move it.
  await page.locator("body").click({ position: { x: 1, y: 1 } });
  let reached = false;
  for (let i = 0; i < 80 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.dataset?.testid === "slider-sentiment");
  }
  assert(reached, "80 Tab presses never reached the sentiment slider");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  assert((await sliderValue(page, "sentiment")) > 0, "ArrowRight did not move the focused slider");
  const skip = await page.evaluate(() => document.querySelector(".skip-link")?.getAttribute("href"));
  assert(skip === "#main", "no skip link to the main content");
  console.log(`keyboard: Tab reached the slider, arrows set it to ${await sliderValue(page, "sentiment")}`);

  // 2. The language switch re-words the page and keeps the draft and the sliders.
  const draft = "A draft that must survive";
  await page.getByTestId("prompt").fill(draft);
  const before = await sliderValue(page, "sentiment");
  await page.getByTestId("language").selectOption("zh-CN");
  assert((await text(page, "tab-chat")) === "对话", `tab-chat in Chinese: ${await text(page, "tab-chat")}`);
  assert((await text(page, "send")) === "发送", `send in Chinese: ${await text(page, "send")}`);
  assert((await page.locator("html").getAttribute("lang")) === "zh-CN", "html lang is not zh-CN");
  assert((await page.getByTestId("prompt").inputValue()) === draft, "the draft was lost on a language switch");
  assert((await sliderValue(page, "sentiment")) === before, "the slider moved on a language switch");
  const zhLabel = (await page.locator('label[for="steer-sentiment"]').textContent()).trim();
  assert(zhLabel === "情感", `the sentiment slider's label in Chinese: ${zhLabel}`);
  await page.getByTestId("language").selectOption("en");
  assert((await text(page, "tab-chat")) === "Chat" && (await text(page, "send")) === "Send", "English did not come back");
  console.log("language: zh ↔ en re-worded tabs, buttons and labels; draft and slider kept");

  // 3. The Learn view and its diagram, in both languages.
  await page.getByTestId("tab-learn").click();
  const diagram = page.getByTestId("steering-diagram");
  await diagram.waitFor({ state: "visible" });
  const titleEn = (await diagram.locator("title").textContent()).trim();
  assert(/steering vector/i.test(titleEn), `diagram title: ${titleEn}`);
  assert((await page.locator('[data-testid="explain"] table tbody tr').count()) >= 8, "the comparison table is short");
  assert((await page.locator('[data-testid="explain"] h3').count()) >= 4, "the Learn view lacks its headings");
  await shot(page, "learn-en.png");
  await page.getByTestId("language").selectOption("zh-CN");
  const titleZh = (await diagram.locator("title").textContent()).trim();
  assert(/引导向量/.test(titleZh), `diagram title in Chinese: ${titleZh}`);
  assert(/残差流/.test(await diagram.textContent()), "the diagram is not labelled in Chinese");
  await shot(page, "learn-zh.png");
  await page.getByTestId("language").selectOption("en");
  await page.getByTestId("tab-chat").click();
  console.log(`learn: "${titleEn}" / "${titleZh}"`);

  // 4. Presets: a built-in one sets the sliders; a saved one needs a new, non-empty name.
  await page.getByTestId("preset-gloomy").click();
  assert((await sliderValue(page, "sentiment")) === -0.8, `gloomy set sentiment to ${await sliderValue(page, "sentiment")}`);
  assert((await text(page, "value-sentiment")) === "-0.80", "the shown value did not follow the preset");
  await page.getByTestId("preset-save").click();
  assert(/name/i.test(await text(page, "preset-error")), "an empty preset name was not refused");
  await page.getByTestId("preset-name").fill("Lecture demo");
  await page.getByTestId("preset-name").press("Enter");
  await page.getByTestId("preset-status").waitFor();
  await page.getByTestId("preset-name").fill("lecture demo");
  await page.getByTestId("preset-save").click();
  assert(/exists/.test(await text(page, "preset-error")), "a duplicate preset name was not refused");
  await page.getByTestId("preset-neutral").click();
  assert((await sliderValue(page, "sentiment")) === 0, "neutral did not reset the slider");
  await page.getByTestId("preset-saved").first().click();
  assert((await sliderValue(page, "sentiment")) === -0.8, "the saved preset did not restore -0.8");
  console.log("presets: gloomy, save (empty and duplicate names refused), neutral, saved");

  // 5. A short greedy reply, then the exports.
  const reply = await chat(page, log, "Say hello.", 5 * MINUTE);
  assert(reply.done.Done, `generation failed: ${JSON.stringify(reply.done)}`);
  await shot(page, "chat-en.png", false);
  const exported = async (testid) => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId(testid).click()]);
    return { name: download.suggestedFilename(), body: readFileSync(await download.path(), "utf8") };
  };
  const md = await exported("export-md");
  assert(md.name.endsWith(".md"), `markdown file name ${md.name}`);
  for (const part of ["## Settings", "temperature 0", "max_tokens 8", "seed ", "Sentiment (`sentiment`): -0.80", "blocks 14–24", "> Say hello."]) {
    assert(md.body.includes(part), `the Markdown export lacks ${JSON.stringify(part)}:\n${md.body}`);
  }
  const js = await exported("export-json");
  const doc = JSON.parse(js.body);
  assert(doc.format === "tiller-conversation/1", `JSON format ${doc.format}`);
  assert(doc.sampling.max_tokens === 8 && doc.sampling.temperature === 0, `JSON sampling ${JSON.stringify(doc.sampling)}`);
  assert(doc.steering.some((s) => s.id === "sentiment" && Math.abs(s.coefficient + 0.8) < 1e-6), `JSON steering ${JSON.stringify(doc.steering)}`);
  assert(doc.messages.length === 2 && doc.messages[0].content === "Say hello." && doc.messages[1].content === reply.text, "JSON messages");
  assert(doc.model && doc.backend && doc.date, `JSON model/backend/date: ${doc.model} / ${doc.backend} / ${doc.date}`);
  console.log(`exports: ${md.name} (${md.body.length} B), ${js.name}: ${doc.messages.length} messages, model ${doc.model}`);

  // 6. The share link restores sliders, prompt, seed, view and language in a new page.
  await page.getByTestId("seed").fill("1234");
  const prompt = "Shared prompt: rain & snow, 100% 雨";
  await page.getByTestId("prompt").fill(prompt);
  await page.getByTestId("share-toggle").click();
  const url = await page.getByTestId("share-url").inputValue();
  assert(url.includes("s.sentiment=-0.80") && url.includes("seed=1234") && url.includes("view=chat"), `share URL ${url}`);
  await page.getByTestId("share-copy").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="share-status"]')?.textContent.trim());
  await page.keyboard.press("Escape");
  assert(await page.getByTestId("share-panel").isHidden(), "Escape did not close the share panel");
  const other = await context.newPage();
  const otherLog = protocolLog(other);
  await other.goto(`${url}&backend=cpu`);
  const again = await waitLoaded(other, otherLog, 5 * MINUTE);
  assert(again.phase === "ready", `the shared link did not load: ${again.error}`);
  await other.waitForFunction(() => document.querySelector('[data-testid="slider-sentiment"]')?.value === "-0.8");
  assert((await other.getByTestId("prompt").inputValue()) === prompt, "the shared prompt was not restored");
  assert((await other.getByTestId("seed").inputValue()) === "1234", "the shared seed was not restored");
  assert((await other.locator(".notices").count()) === 0, `the shared link raised notices: ${await other.locator(".notices").textContent().catch(() => "")}`);
  await other.close();
  console.log(`share: ${url}`);

  // 7. Themes: dark sets data-theme and changes the background.
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await bg();
  await page.getByTestId("theme").selectOption("dark");
  assert((await page.locator("html").getAttribute("data-theme")) === "dark", "data-theme is not dark");
  const dark = await bg();
  assert(dark !== light, `the background stayed ${dark}`);
  assert((await page.evaluate(() => localStorage.getItem("tiller.theme"))) === "dark", "the theme was not stored");
  await shot(page, "chat-dark.png", false);
  await page.getByTestId("theme").selectOption("system");
  assert((await page.locator("html").getAttribute("data-theme")) === null, "system kept a data-theme");
  assert((await bg()) === light, `system (light) shows ${await bg()}`);
  // "System" follows the system's scheme; light stays light on a dark system.
  await page.emulateMedia({ colorScheme: "dark" });
  assert((await bg()) === dark, `system on a dark system shows ${await bg()}, expected ${dark}`);
  await page.getByTestId("theme").selectOption("light");
  assert((await bg()) === light, `light on a dark system shows ${await bg()}`);
  await page.getByTestId("theme").selectOption("system");
  await page.emulateMedia({ colorScheme: "light" });
  console.log(`theme: ${light} → ${dark}; system follows the system's scheme`);

  // 8. Every control has a name.
  const unnamed = await unnamedControls(page);
  assert(unnamed.length === 0, `controls without an accessible name: ${unnamed.join(", ")}`);

  // 9. A phone: one column, no sideways scrolling on any view.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const view of ["chat", "compare", "inside", "learn"]) {
    await page.getByTestId(`tab-${view}`).click();
    await page.waitForTimeout(200);
    await noSideways(page, `390×844, ${view}`);
    if (view === "chat") await shot(page, "phone-chat.png");
    if (view === "learn") await shot(page, "phone-learn.png");
  }
  console.log("phone: no sideways scrolling on chat, compare, inside and learn");

  reportPageErrors(log);
  await checkCsp(page, log);
  console.log("classroom_ui.mjs: passed (language, Learn view, presets, exports, share link, theme, keyboard, names, phone)");
} catch (e) {
  reportPageErrors(log);
  await shot(page, "failure.png").catch(() => {});
  console.error(`FAIL: ${e.message}`);
  process.exitCode = 1;
} finally {
  await close();
}

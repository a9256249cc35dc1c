// Shared by Tiller's browser tests and benchmark: launching the system's Chromium, the page's
// console protocol log (ARCHITECTURE.md, "The UI ⇄ worker protocol": "tiller:request …" /
// "tiller:response …"), and the few waits every script needs.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

/** The served dist/, e.g. http://127.0.0.1:41234/tiller/ (cargo xtask starts the server). */
export const BASE_URL = process.env.TILLER_URL || fail("TILLER_URL is not set: run this through `cargo xtask test`");
const CHROMIUM = process.env.TILLER_CHROMIUM || "/usr/bin/chromium";

export const MINUTE = 60_000;

export function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** `BASE_URL` with these query parameters. */
export function appUrl(params) {
  const url = new URL(BASE_URL);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  return url.href;
}

/**
 * Headless Chromium with a fresh profile (no cache, no service worker from an earlier run), and
 * `extraArgs` after the usual switches. Returns { context, page, close }.
 */
export async function launch({ webgpu = false, extraArgs = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "tiller-e2e-"));
  const args = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
  ];
  if (webgpu) args.push("--enable-unsafe-webgpu");
  args.push(...extraArgs);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(30_000);
  // Every Content-Security-Policy violation on the page reaches the log (protocolLog): the site
  // must run under its own policy without one. Init scripts are not subject to the policy.
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`tiller:csp-violation ${e.effectiveDirective} ${e.blockedURI || "inline"}`),
    );
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, close };
}

/**
 * Records the protocol messages the page logs, and the page's errors.
 * `log.requests` / `log.responses`: parsed JSON, in order; `log.wait(pred)` resolves with the
 * first response (from `from` on) for which pred is true.
 */
export function protocolLog(page, { echo = false } = {}) {
  // responseTimes[i]: Date.now() when responses[i] reached this process (the benchmark's phases).
  const log = {
    requests: [],
    responses: [],
    responseTimes: [],
    pageErrors: [],
    consoleErrors: [],
    cspViolations: [],
    // The worker scripts the page started, in order ("./tiller-worker.js", …).
    engines: [],
    waiters: [],
  };
  page.on("console", (msg) => {
    const text = msg.text();
    for (const [tag, list] of [
      ["tiller:request ", log.requests],
      ["tiller:response ", log.responses],
    ]) {
      if (text.startsWith(tag)) {
        let value;
        try {
          value = JSON.parse(text.slice(tag.length));
        } catch {
          value = { Unparsed: text };
        }
        list.push(value);
        if (list === log.responses) log.responseTimes.push(Date.now());
        if (echo) console.log(`  ${text.slice(0, 200)}`);
        if (list === log.responses) log.waiters = log.waiters.filter((w) => !w(value));
        return;
      }
    }
    if (text.startsWith("tiller:engine ")) log.engines.push(text.slice("tiller:engine ".length));
    if (text.startsWith("tiller:csp-violation ") || /Content Security Policy/.test(text)) log.cspViolations.push(text);
    if (msg.type() === "error") log.consoleErrors.push(text);
  });
  page.on("pageerror", (err) => log.pageErrors.push(String(err)));
  /** The first response after index `from` that `pred` accepts (past ones count too). */
  log.wait = (pred, timeout, what) =>
    new Promise((resolve, reject) => {
      const from = log.mark ?? 0;
      const found = log.responses.slice(from).find(pred);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeout / 1000} s waiting for ${what}`)), timeout);
      log.waiters.push((r) => {
        if (!pred(r)) return false;
        clearTimeout(timer);
        resolve(r);
        return true;
      });
    });
  /** Later waits ignore responses logged before this call. */
  log.reset = () => {
    log.mark = log.responses.length;
  };
  return log;
}

/**
 * Wait until the load status is ready or error. Returns { phase, ready, error, ms } where
 * `ready` is the logged Ready response, or `error` the load-error text.
 */
export async function waitLoaded(page, log, timeout) {
  const t0 = Date.now();
  const status = page.getByTestId("load-status");
  await page.waitForFunction(
    () => {
      const phase = document.querySelector('[data-testid="load-status"]')?.getAttribute("data-phase");
      return phase === "ready" || phase === "error";
    },
    null,
    { timeout, polling: 250 },
  );
  const phase = await status.getAttribute("data-phase");
  if (phase === "error") {
    const error = (await page.getByTestId("load-error").textContent({ timeout: 5000 }).catch(() => null)) ?? "";
    return { phase, error: error.trim(), ms: Date.now() - t0 };
  }
  const ready = await log.wait((r) => r.Ready, 10_000, "the Ready response in the console log");
  return { phase, ready: ready.Ready, ms: Date.now() - t0 };
}

/**
 * Type `text` in the prompt, send it, and wait for the assistant's reply to finish.
 * Returns { text, done, ms }: the reply's text and the logged Done (or GenerateFailed) response.
 */
export async function chat(page, log, text, timeout) {
  const assistant = page.locator('[data-testid="message"][data-role="assistant"]');
  const before = await assistant.count();
  log.reset();
  await page.getByTestId("prompt").fill(text);
  const t0 = Date.now();
  await page.getByTestId("send").click();
  // The reply may appear only with its first token, after the prefill: one wait covers both.
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="message"][data-role="assistant"]')[n]?.dataset.done === "true",
    before,
    { timeout, polling: 250 },
  );
  const ms = Date.now() - t0;
  const done = await log.wait((r) => r.Done || r.GenerateFailed, 10_000, "Done in the console log");
  return { text: (await assistant.nth(before).textContent()).trim(), done, ms };
}

/** The last Generate request the page sent. */
export function lastGenerate(log) {
  return log.requests.filter((r) => r.Generate).at(-1)?.Generate;
}

/** Prefill and decode tokens/s from Done's stats, as the app computes them (protocol.rs). */
export function rates(stats) {
  const perSecond = (n, ms) => (ms > 0 ? (n * 1000) / ms : 0);
  return {
    prefill: perSecond(stats.prefilled_tokens, stats.prefill_ms),
    decode: perSecond(Math.max(stats.generated_tokens - 1, 0), stats.decode_ms),
  };
}

/**
 * The page runs under the site's Content-Security-Policy, which does block what it should (an
 * inline script that is not the build's), and nothing the app did violated it.
 */
export async function checkCsp(page, log) {
  const policy = await page.evaluate(
    () => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute("content") ?? null,
  );
  assert(policy, "the page has no Content-Security-Policy");
  for (const part of ["default-src 'self'", "connect-src 'self'", "object-src 'none'", "'wasm-unsafe-eval'"]) {
    assert(policy.includes(part), `the policy lacks ${part}: ${policy}`);
  }
  const violations = [...log.cspViolations];
  assert(violations.length === 0, `the app violated its Content-Security-Policy: ${violations.slice(0, 3).join(" | ")}`);
  // A script the build did not hash must not run.
  const ran = await page.evaluate(async () => {
    window.__tillerInline = false;
    const s = document.createElement("script");
    s.textContent = "window.__tillerInline = true;";
    document.head.appendChild(s);
    await new Promise((r) => setTimeout(r, 100));
    return window.__tillerInline;
  });
  assert(!ran, "an inline script outside the policy ran");
  await poll(async () => log.cspViolations.length > violations.length, 5_000, "the blocked script's violation report");
  log.cspViolations.length = violations.length;
  console.log(`  content security policy: in force, no violation by the app (${policy.length} characters)`);
}

/** Print the page's errors (not a failure by themselves: SwiftShader's WebGPU logs some). */
export function reportPageErrors(log) {
  if (log.pageErrors.length === 0) return;
  const distinct = [...new Set(log.pageErrors)];
  console.log(`  page errors: ${log.pageErrors.length} (${distinct.length} distinct), first: ${distinct[0].slice(0, 160)}`);
}

/** Call `probe` every 500 ms until it returns something truthy, and return that. */
export async function poll(probe, timeout, what) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

// Tiller's service worker: after the first visit the app works offline.
//
// The app shell (HTML, JS, wasm, CSS, steering vectors) is precached on install and served
// cache-first. Everything else goes to the network first and falls back to any cache: the worker
// keeps the model in the "tiller-models-v1" cache, so it loads offline too.
//
// The engine comes in two builds (CPU only, and with WebGPU; see app/src/ui/worker_bridge.rs),
// and a page needs only the one it starts. Install leaves both out; the page names the one it
// started in a message ({ keepEngine: "tiller-worker_bg.wasm" }), and that one joins the shell,
// revalidated against the HTTP cache the worker just filled, so it is not downloaded twice. A
// build fetched while this worker controls the page joins the shell too.
//
// `cargo xtask dist` fills in the two lines below: VERSION hashes the shell's files, so a new
// build installs a new cache and deletes the old one. As written here (e.g. under `trunk serve`)
// nothing is precached and every request goes to the network.
const VERSION = "dev"; // placeholder, written by cargo xtask dist
const SHELL = []; // placeholder: URLs relative to this file, written by cargo xtask dist

const PREFIX = "tiller-shell-";
const SHELL_CACHE = PREFIX + VERSION;
const ENGINES = ["tiller-worker_bg.wasm", "tiller-worker-webgpu_bg.wasm"];
const isEngine = (url) => ENGINES.some((name) => new URL(url, self.location).pathname.endsWith("/" + name));

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      // cache: "reload" skips the HTTP cache, so the precache is this build's files.
      const now = SHELL.filter((url) => !isEngine(url));
      await cache.addAll(now.map((url) => new Request(url, { cache: "reload" })));
      // A new build takes over at once; the page picks up its files on the next load.
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== SHELL_CACHE).map((n) => caches.delete(n)));
      // Control the page that registered us, so its first visit already fills the caches.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  const name = event.data?.keepEngine;
  if (typeof name !== "string" || !ENGINES.includes(name)) return;
  event.waitUntil(
    (async () => {
      const shell = await caches.open(SHELL_CACHE);
      const url = new URL(name, self.location).href;
      if (!(await shell.match(url))) await shell.add(new Request(url, { cache: "no-cache" }));
    })().catch(() => {}),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  // Other origins and other methods are none of our business: the browser handles them.
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(respond(event));
});

async function respond(event) {
  const request = event.request;
  // Shell files ignore the query: "./?backend=cpu" is still the page.
  const shell = await caches.open(SHELL_CACHE);
  const cached = await shell.match(request, { ignoreSearch: true });
  if (cached) return cached;
  try {
    const response = await fetch(request);
    // An engine build joins the shell when it is first used. Only a whole response is kept (a
    // range request's 206 is not the file).
    if (response.status === 200 && isEngine(request.url)) {
      event.waitUntil(shell.put(new Request(request.url), response.clone()).catch(() => {}));
    }
    return response;
  } catch (offline) {
    const fallback = await caches.match(request);
    if (fallback) return fallback;
    throw offline;
  }
}

/*
 * CLO Lab service worker (hand-written): offline after the first load.
 * Install: precaches every URL in /precache-manifest.json (app shell, workers, tfjs wasm, model
 * files, bundled data), written by the build (vite.config.ts). Fetch: hashed assets, wasm and model
 * files cache first; pages and data network first with the cache as the offline fallback. A new build has a new manifest version, so a new
 * cache; old caches are deleted on activate. Cached responses keep their COOP/COEP headers.
 */
const PREFIX = 'clo-lab-';

async function manifest() {
  const res = await fetch('/precache-manifest.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`precache-manifest.json: HTTP ${res.status}`);
  return res.json();
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const m = await manifest();
      const cache = await caches.open(PREFIX + m.version);
      await cache.addAll(m.urls);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const m = await manifest().catch(() => null);
      if (m) {
        for (const key of await caches.keys()) if (key.startsWith(PREFIX) && key !== PREFIX + m.version) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

/** Hashed build files and large immutable files: cache first. Everything else (pages, data): network first, cache when offline. */
const CACHE_FIRST = /^\/(assets|tfjs-wasm|models)\//;

async function remember(req, res) {
  if (!res.ok || res.type !== 'basic') return;
  const names = (await caches.keys()).filter((k) => k.startsWith(PREFIX));
  if (names.length) await (await caches.open(names[names.length - 1])).put(req, res);
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || url.pathname === '/precache-manifest.json') return;
  const key = url.pathname === '/' ? '/index.html' : url.pathname;
  event.respondWith(
    (async () => {
      if (CACHE_FIRST.test(url.pathname)) {
        const hit = await caches.match(key);
        if (hit) return hit;
      }
      try {
        const res = await fetch(req);
        event.waitUntil(remember(key, res.clone()));
        return res;
      } catch (err) {
        const hit = await caches.match(key, { ignoreSearch: true });
        if (hit) return hit;
        throw err;
      }
    })(),
  );
});

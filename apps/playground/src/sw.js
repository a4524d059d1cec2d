// The playground's service worker (plain JavaScript: vite.config.ts fills in the file list and the
// version at build time and writes it to sw.js next to index.html).
//
// - Offline: every file of the build is cached on install, and every same-origin GET is answered
//   from that cache first, so the page, its workers, the wasm binaries and the demo model load
//   without a network once the page has been opened.
// - Cross-origin isolation: responses get COOP / COEP / CORP headers where the server did not send
//   them, so a static host that cannot set headers still gets wasm threads (from the second load).
const VERSION = self.__VERSION__;
const PRECACHE = self.__PRECACHE__;
const CACHE = `dino-playground-${VERSION}`;

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

self.addEventListener('install', (event) => {
  // Take over as soon as the files are cached: the page's files are content-hashed, so an old
  // page keeps working with what it already loaded.
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith('dino-playground-') && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      // ignoreVary: servers answer with `Vary: Origin`, and module scripts and workers are
      // requested with an Origin header the precache requests did not send.
      const cached = await cache.match(request, { ignoreSearch: true, ignoreVary: true });
      if (cached) return isolated(cached);
      try {
        return isolated(await fetch(request));
      } catch (error) {
        // Offline and not cached: a navigation still gets the page itself.
        if (request.mode === 'navigate') {
          const shell = await cache.match('./', { ignoreVary: true });
          if (shell) return isolated(shell);
        }
        throw error;
      }
    })(),
  );
});

/** The response with the isolation headers added where missing. */
function isolated(response) {
  if (response.type === 'opaque' || response.headers.get('Cross-Origin-Embedder-Policy')) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/* Service worker of the judge's tablet pages, served from /judge/sw.js with scope /judge/.

   - The stylesheets and judge.js are precached and served stale-while-revalidate.
   - GET /judge/... pages and GET /api/v1/queue: network first (5 s), the cached copy when the network
     fails; an entry page never cached falls back to the shell of another entry (judge.js renders the
     entry named in the URL from its IndexedDB copy of the queue). Answers from the cache carry
     X-Judge-Offline: 1.
   - /judge/files/<id> (attachments, unchanging under their id): cache first, so photos seen once stay
     viewable offline.
   - POST requests are never touched: the scores travel through judge.js's outbox, not through here.
   - A 'warm' message from a page caches the pages it names (a page loaded before the worker controlled
     it is not in the cache yet) and answers {type: 'warmed', ready}. */
'use strict';

var VERSION = 'v1';
var PAGES = 'judge-pages-' + VERSION;
var STATIC = 'judge-static-' + VERSION;
var FILES = 'judge-files-' + VERSION;
var NETWORK_TIMEOUT = 5000;

var SCOPE = new URL(self.registration.scope);           // https://host/<root>/judge/
var ROOT = new URL('..', SCOPE);                          // https://host/<root>/
var HOME = SCOPE.href;
var ENTRIES = new URL('entries/', SCOPE).pathname;
var FILES_PATH = new URL('files/', SCOPE).pathname;
var SHELL = new URL('entries/__shell__', SCOPE).href;
var API_QUEUE = new URL('api/v1/queue', ROOT).href;
var STATIC_PATH = new URL('static/', ROOT).pathname;
var STATIC_URLS = ['static/css/app.css', 'static/css/judge.css', 'static/js/judge.js'].map(function (path) {
  return new URL(path, ROOT).href;
});

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(STATIC).then(function (cache) {
    return cache.addAll(STATIC_URLS);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  var keep = [PAGES, STATIC, FILES];
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) {
      return key.indexOf('judge-') === 0 && keep.indexOf(key) < 0;
    }).map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function cacheable(response) {
  return response && response.status === 200 && !response.redirected && response.type === 'basic';
}

function fromCache(response) {
  var headers = new Headers(response.headers);
  headers.set('X-Judge-Offline', '1');
  return response.blob().then(function (body) {
    return new Response(body, { status: response.status, statusText: response.statusText, headers: headers });
  });
}

function offlineAnswer(request) {
  var accept = request.headers.get('Accept') || '';
  if (request.mode !== 'navigate' && accept.indexOf('text/html') < 0) {
    return new Response(JSON.stringify({ ok: false, error: 'offline', message: '离线，且本机没有缓存。' }),
      { status: 503, headers: { 'Content-Type': 'application/json', 'X-Judge-Offline': '1' } });
  }
  return new Response('<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
    '<title>离线</title><body style="font:20px sans-serif;padding:2em"><h1>网络已断开</h1>' +
    '<p>这个页面还没有保存在本机。请返回评审列表，或等网络恢复后再刷新。</p>' +
    '<p><a href="' + HOME + '">返回评审列表</a></p></body>',
    { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8', 'X-Judge-Offline': '1' } });
}

/* Copies are taken at once: by the time the cache opens, the page may have read the body. */
function store(cacheName, key, response, extraKey) {
  var copy = response.clone();
  var extra = extraKey ? response.clone() : null;
  return caches.open(cacheName).then(function (cache) {
    var work = [cache.put(key, copy)];
    if (extra) { work.push(cache.put(extraKey, extra)); }
    return Promise.all(work);
  }).catch(function () {});
}

function cached(cacheName, key, fallbackKey) {
  return caches.open(cacheName).then(function (cache) {
    return cache.match(key, { ignoreVary: true }).then(function (hit) {
      if (hit || !fallbackKey) { return hit; }
      return cache.match(fallbackKey, { ignoreVary: true });
    });
  });
}

/* The network's answer; after NETWORK_TIMEOUT (a hall's Wi-Fi that hangs) or on failure, the cache's. */
function networkFirst(event, cacheName, fallbackKey) {
  var request = event.request;
  var shellKey = new URL(request.url).pathname.indexOf(ENTRIES) === 0 ? SHELL : null;
  return new Promise(function (resolve) {
    var settled = false;
    function answer(response) { if (!settled) { settled = true; resolve(response); } }
    function fallback() {
      return cached(cacheName, request, fallbackKey).then(function (hit) {
        return hit ? fromCache(hit) : null;
      });
    }
    var timer = setTimeout(function () {
      fallback().then(function (hit) { if (hit) { answer(hit); } });
    }, NETWORK_TIMEOUT);
    var network = fetch(request).then(function (response) {
      clearTimeout(timer);
      if (cacheable(response)) {
        event.waitUntil(store(cacheName, request, response, shellKey));
        answer(response);
      } else if (response.status >= 500) {
        fallback().then(function (hit) { answer(hit || response); });
      } else {
        answer(response);
      }
    }, function () {
      clearTimeout(timer);
      fallback().then(function (hit) { answer(hit || offlineAnswer(request)); });
    });
    event.waitUntil(network);
  });
}

function cacheFirst(event, cacheName) {
  var request = event.request;
  return cached(cacheName, request).then(function (hit) {
    if (hit) { return hit; }
    return fetch(request).then(function (response) {
      if (cacheable(response)) { event.waitUntil(store(cacheName, request, response)); }
      return response;
    }, function () { return offlineAnswer(request); });
  });
}

function staleWhileRevalidate(event, cacheName) {
  var request = event.request;
  var update = fetch(request).then(function (response) {
    if (!cacheable(response)) { return response; }
    return store(cacheName, request, response).then(function () { return response; });
  });
  event.waitUntil(update.catch(function () {}));
  return cached(cacheName, request).then(function (hit) {
    return hit || update.catch(function () { return offlineAnswer(request); });
  });
}

self.addEventListener('fetch', function (event) {
  var request = event.request;
  if (request.method !== 'GET') { return; }   // scores go through the page's outbox, never a cache
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || url.href === self.location.href) { return; }
  if (request.headers.has('Range')) { return; }  // partial answers (a PDF viewer's) cannot be cached
  if (url.pathname.indexOf(FILES_PATH) === 0) {
    event.respondWith(cacheFirst(event, FILES));
  } else if (url.pathname.indexOf(SCOPE.pathname) === 0) {
    event.respondWith(networkFirst(event, PAGES, url.pathname.indexOf(ENTRIES) === 0 ? SHELL : null));
  } else if (url.origin + url.pathname === API_QUEUE) {
    event.respondWith(networkFirst(event, PAGES, null));
  } else if (url.pathname.indexOf(STATIC_PATH) === 0) {
    event.respondWith(staleWhileRevalidate(event, STATIC));
  }
});

function readiness() {
  return Promise.all([cached(PAGES, HOME), cached(PAGES, SHELL)].concat(STATIC_URLS.map(function (u) {
    return cached(STATIC, u);
  }))).then(function (hits) { return hits.every(Boolean); });
}

function warm(urls) {
  return caches.open(PAGES).then(function (cache) {
    return Promise.all((urls || []).map(function (u) {
      var href = new URL(u, SCOPE).href;
      return fetch(href, { credentials: 'same-origin', cache: 'no-store' }).then(function (response) {
        if (!cacheable(response)) { return; }
        var work = [cache.put(href, response.clone())];
        if (new URL(href).pathname.indexOf(ENTRIES) === 0) { work.push(cache.put(SHELL, response.clone())); }
        return Promise.all(work);
      }).catch(function () {});
    }));
  }).then(function () {
    return caches.open(STATIC).then(function (cache) {
      return Promise.all(STATIC_URLS.map(function (u) {
        return cache.match(u).then(function (hit) { return hit || cache.add(u); });
      }));
    }).catch(function () {});
  });
}

/* The judge's photos, one at a time, skipping those already cached (they never change under their id). */
function warmFiles(urls) {
  return caches.open(FILES).then(function (cache) {
    return (urls || []).reduce(function (chain, u) {
      var href = new URL(u, SCOPE).href;
      return chain.then(function () {
        return cache.match(href).then(function (hit) {
          if (hit) { return null; }
          return fetch(href, { credentials: 'same-origin' }).then(function (response) {
            if (cacheable(response)) { return cache.put(href, response); }
            return null;
          });
        }).catch(function () {});
      });
    }, Promise.resolve());
  });
}

self.addEventListener('message', function (event) {
  var data = event.data || {};
  var source = event.source;
  function report() {
    return readiness().then(function (ready) {
      if (source) { source.postMessage({ type: 'warmed', ready: ready }); }
    });
  }
  if (data.type === 'warm') {
    event.waitUntil(warm(data.urls).then(report));
  } else if (data.type === 'warm-files') {
    event.waitUntil(warmFiles(data.urls));
  } else if (data.type === 'status') {
    event.waitUntil(report());
  }
});

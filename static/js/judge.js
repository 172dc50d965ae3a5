/* The judge's tablet: the queue, the scoring page and the outbox.

   Every save becomes an outbox item in IndexedDB ({idempotency_key, payload, created_at, state}) before
   anything is sent; an item leaves the outbox only when the server acknowledges its key (2xx). A refusal
   (404, 409, 422, 423 ...) marks it "refused" with the server's message and keeps it visible; a network
   error, a 5xx or an expired session keeps it waiting, and it is sent again with backoff, on the 'online'
   event and on the next page load. Items go out one at a time in the order they were made, so two saves
   of one entry made offline chain: the second's base_version is the version the first will produce.

   The queue (entries, rubrics, the last known scores) is kept in IndexedDB too; with the service worker
   (judge_sw.js) caching the pages, a reload while offline shows the queue and the outbox as they were.
   No inline script (CSP): the page's data comes from <script type="application/json"> blocks. */
(function () {
  'use strict';

  var DB_NAME = 'judging-judge';
  var DB_VERSION = 1;
  var RETRY_MIN = 2000;
  var RETRY_MAX = 60000;

  function readJSON(id) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  var config = readJSON('judge-config');
  var pageData = readJSON('queue-data');
  if (!config || !pageData) { return; }
  var judgeId = config.judge_id;
  var urls = config.urls;

  var state = {
    queue: pageData.queue || [],
    generatedAt: pageData.generated_at || 0,
    outbox: [],            // this judge's items, oldest first
    foreignWaiting: 0,     // items another judge left on this tablet (never sent under this session)
    online: navigator.onLine !== false,
    flushing: false,
    flushAgain: false,
    retryDelay: RETRY_MIN,
    retryTimer: null,
    authProblem: false,
    csrf: (document.querySelector('meta[name="csrf-token"]') || {}).content || '',
    lastSent: {}           // entry key -> true once an item of this page session was acknowledged
  };

  // --- Small helpers --------------------------------------------------------------------------------

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) { return; }
      if (name === 'text') { node.textContent = value; }
      else if (name === 'className') { node.className = value; }
      else if (name.slice(0, 2) === 'on') { node.addEventListener(name.slice(2), value); }
      else { node.setAttribute(name, value === true ? '' : value); }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) { return; }
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function entryKey(roundId, entryId) { return roundId + ':' + entryId; }

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') { return window.crypto.randomUUID(); }
    // crypto.randomUUID needs a secure context; getRandomValues works over plain http on a LAN too.
    var b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  // Points are handled in tenths (integers): no 0.1 + 0.2 surprises in totals.
  var NUMBER = /^\d+(\.\d)?$/;
  function toTenths(text) { return Math.round(parseFloat(text) * 10); }
  function fromTenths(t) { return (t % 10 === 0) ? String(t / 10) : (t / 10).toFixed(1); }
  function fmt(text) { return (text === null || text === undefined || text === '') ? '' : fromTenths(toTenths(text)); }

  function timeText(ms) {
    var d = new Date(ms);
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  // --- IndexedDB --------------------------------------------------------------------------------------

  var dbPromise = null;
  function openDb() {
    if (dbPromise) { return dbPromise; }
    dbPromise = new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error('no IndexedDB')); return; }
      var request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains('outbox')) {
          db.createObjectStore('outbox', { keyPath: 'idempotency_key' }).createIndex('created_at', 'created_at');
        }
        if (!db.objectStoreNames.contains('queue')) {
          db.createObjectStore('queue', { keyPath: 'judge_id' });
        }
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
    return dbPromise;
  }

  function idb(storeName, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(storeName, mode);
        var result;
        var request = work(tx.objectStore(storeName));
        if (request) { request.onsuccess = function () { result = request.result; }; }
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error || new Error('aborted')); };
      });
    });
  }

  function putItem(item) { return idb('outbox', 'readwrite', function (s) { return s.put(item); }); }
  function deleteItem(key) { return idb('outbox', 'readwrite', function (s) { return s.delete(key); }); }
  function allItems() { return idb('outbox', 'readonly', function (s) { return s.getAll(); }); }
  function saveQueueCopy() {
    return idb('queue', 'readwrite', function (s) {
      return s.put({ judge_id: judgeId, generated_at: state.generatedAt, items: state.queue });
    }).catch(function () {});
  }

  // --- The queue: the page's copy merged with the stored one -------------------------------------------

  function findItem(roundId, entryId) {
    for (var i = 0; i < state.queue.length; i++) {
      var item = state.queue[i];
      if (item.round_id === roundId && item.entry.id === entryId) { return item; }
    }
    return null;
  }

  /* Keep the newer copy as the base (this page may come from the service worker's cache); a score is
     never taken back to an older version than either copy knows. */
  function mergeQueue(incoming, generatedAt) {
    var base = incoming;
    var other = state.queue;
    if (generatedAt < state.generatedAt) { base = state.queue; other = incoming; }
    var byKey = {};
    (other || []).forEach(function (item) { byKey[entryKey(item.round_id, item.entry.id)] = item; });
    base.forEach(function (item) {
      var seen = byKey[entryKey(item.round_id, item.entry.id)];
      if (seen && seen.score && (!item.score || seen.score.version > item.score.version)) { item.score = seen.score; }
    });
    state.queue = base;
    state.generatedAt = Math.max(generatedAt, state.generatedAt);
  }

  function loadStoredQueue() {
    return idb('queue', 'readonly', function (s) { return s.get(judgeId); }).then(function (stored) {
      if (stored && stored.items) {
        var page = state.queue;
        var pageAt = state.generatedAt;
        state.queue = stored.items;
        state.generatedAt = stored.generated_at || 0;
        mergeQueue(page, pageAt);
      }
      return saveQueueCopy();
    }).catch(function () {});
  }

  function refreshQueue() {
    if (!state.online) { return Promise.resolve(); }
    return fetch(urls.api_queue, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (response.status === 401) { state.authProblem = true; return null; }
        if (!response.ok) { return null; }
        var fromCache = response.headers.get('X-Judge-Offline') === '1';
        var dated = Date.parse(response.headers.get('Date') || '') || 0;
        return response.json().then(function (body) {
          if (!body || !body.ok) { return; }
          // A live answer is the newest copy there is; a cached one is as old as its Date header.
          var at = fromCache ? dated : Math.max(dated, state.generatedAt + 1);
          mergeQueue(body.queue, at);
          state.authProblem = false;
          return saveQueueCopy();
        });
      })
      .catch(function () {})
      .then(render);
  }

  // --- The outbox -----------------------------------------------------------------------------------------

  function loadOutbox() {
    return allItems().then(function (items) {
      items.sort(function (a, b) { return a.created_at - b.created_at; });
      state.outbox = items.filter(function (i) { return i.judge_id === judgeId; });
      state.foreignWaiting = items.filter(function (i) { return i.judge_id !== judgeId && i.state === 'waiting'; }).length;
    }).catch(function () { showAlert('此浏览器无法使用本地存储（IndexedDB），离线评分不可用。'); });
  }

  function itemsFor(roundId, entryId, wanted) {
    return state.outbox.filter(function (i) {
      return i.round_id === roundId && i.entry_id === entryId && (!wanted || i.state === wanted);
    });
  }

  function waitingItems() { return state.outbox.filter(function (i) { return i.state === 'waiting'; }); }
  function refusedItems() { return state.outbox.filter(function (i) { return i.state === 'refused'; }); }

  /* The version the next save of this entry edits: the version the last waiting save will produce
     (its base + 1), else the version the server last confirmed. */
  function baseVersion(item) {
    var waiting = itemsFor(item.round_id, item.entry.id, 'waiting');
    if (waiting.length) { return waiting[waiting.length - 1].payload.base_version + 1; }
    return item.score ? item.score.version : 0;
  }

  function enqueue(item, values, comment, status) {
    var key = uuid();
    var record = {
      idempotency_key: key,
      judge_id: judgeId,
      round_id: item.round_id,
      entry_id: item.entry.id,
      entry_code: item.entry.code,
      payload: {
        idempotency_key: key, round_id: item.round_id, entry_id: item.entry.id, values: values,
        comment: comment, status: status, base_version: baseVersion(item)
      },
      created_at: Date.now(),
      state: 'waiting',
      attempts: 0,
      message: ''
    };
    return putItem(record).then(function () {
      state.outbox.push(record);
      render();
      flush();
      return record;
    });
  }

  function scheduleRetry() {
    if (state.retryTimer) { clearTimeout(state.retryTimer); }
    var delay = state.retryDelay;
    state.retryDelay = Math.min(state.retryDelay * 2, RETRY_MAX);
    state.retryTimer = setTimeout(function () { state.retryTimer = null; flush(); }, delay);
  }

  function retrySoon() {
    state.retryDelay = RETRY_MIN;
    if (state.retryTimer) { clearTimeout(state.retryTimer); state.retryTimer = null; }
    flush();
  }

  function refreshCsrf() {
    return fetch(urls.home, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) { return response.ok && !response.redirected ? response.text() : ''; })
      .then(function (html) {
        var match = /<meta name="csrf-token" content="([^"]+)"/.exec(html || '');
        if (match) { state.csrf = match[1]; return true; }
        return false;
      })
      .catch(function () { return false; });
  }

  function acknowledge(record, score) {
    return deleteItem(record.idempotency_key).then(function () {
      state.outbox = state.outbox.filter(function (i) { return i !== record; });
      // Refusals of this entry before this accepted save no longer describe it (they stay listed).
      var updates = state.outbox.filter(function (i) {
        return i.state === 'refused' && !i.superseded && i.round_id === record.round_id &&
          i.entry_id === record.entry_id && i.created_at < record.created_at;
      }).map(function (i) { i.superseded = true; return putItem(i); });
      return Promise.all(updates);
    }).then(function () {
      var item = findItem(record.round_id, record.entry_id);
      if (item && score && (!item.score || score.version >= item.score.version)) { item.score = score; }
      state.lastSent[entryKey(record.round_id, record.entry_id)] = true;
      return saveQueueCopy();
    });
  }

  function refuse(record, status, body) {
    record.state = 'refused';
    record.http_status = status;
    record.error = body.error || 'refused';
    record.message = body.message || ('服务器拒绝了这份评分（' + status + '）');
    record.refused_at = Date.now();
    var item = findItem(record.round_id, record.entry_id);
    if (item && body.current && (!item.score || body.current.version >= item.score.version)) { item.score = body.current; }
    if (status === 423) {
      state.queue.forEach(function (i) { if (i.round_id === record.round_id) { i.locked = true; } });
    }
    delete state.lastSent[entryKey(record.round_id, record.entry_id)];
    return putItem(record).then(saveQueueCopy);
  }

  /* Send one item: 'done' (acknowledged or refused), 'again' (send it again at once) or 'wait'. */
  function send(record) {
    record.attempts = (record.attempts || 0) + 1;
    return fetch(urls.api_scores, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': state.csrf },
      body: JSON.stringify(record.payload)
    }).then(function (response) {
      setOnline(true);
      return response.json().catch(function () { return null; }).then(function (body) {
        if (response.ok && body && body.ok) {
          state.authProblem = false;
          return acknowledge(record, body.score).then(function () { return 'done'; });
        }
        if (response.status === 401) {          // logged out: keep it, send after the next login
          state.authProblem = true;
          record.message = body && body.message || '登录已失效';
          return 'wait';
        }
        if (!body) {
          // Not our JSON: a refused CSRF token (the session changed) or a proxy's error page.
          if (response.status === 400 && !record.csrf_refreshed) {
            record.csrf_refreshed = true;
            return refreshCsrf().then(function (ok) { return ok ? 'again' : 'wait'; });
          }
          record.message = '服务器暂时无法处理（' + response.status + '），稍后自动重试';
          return putItem(record).then(function () { return 'wait'; });
        }
        if (response.status >= 500 || response.status === 429) {
          record.message = body.message || ('服务器暂时无法处理（' + response.status + '）');
          return putItem(record).then(function () { return 'wait'; });
        }
        if (response.status === 409 && body.error === 'stale' && record.attempts > 1 && !record.rechecked) {
          // Sent before with the answer lost: its first copy may be committing right now. Once more,
          // and the server replays it by its key if so.
          record.rechecked = true;
          return 'again';
        }
        return refuse(record, response.status, body).then(function () { return 'done'; });
      });
    }, function () {
      setOnline(false);
      record.message = '';  // the bar says 离线; a message here is kept for the server's answers
      return putItem(record).then(function () { return 'wait'; }, function () { return 'wait'; });
    });
  }

  function flush() {
    if (state.flushing) { state.flushAgain = true; return Promise.resolve(); }
    state.flushing = true;
    var sentSomething = false;
    function step() {
      var next = waitingItems()[0];
      if (!next) { state.retryDelay = RETRY_MIN; return Promise.resolve(); }
      return send(next).then(function (outcome) {
        render();
        if (outcome === 'done') { sentSomething = true; return step(); }
        if (outcome === 'again') { return step(); }
        if (!state.authProblem) { scheduleRetry(); }
        return null;
      });
    }
    return step().catch(function () { scheduleRetry(); }).then(function () {
      state.flushing = false;
      render();
      if (state.flushAgain) { state.flushAgain = false; return flush(); }
      if (sentSomething) { return refreshQueue(); }
      return null;
    });
  }

  // --- Online / offline -------------------------------------------------------------------------------

  function setOnline(online) {
    if (state.online === online) { return; }
    state.online = online;
    renderBar();
  }

  window.addEventListener('online', function () { setOnline(true); retrySoon(); });
  window.addEventListener('offline', function () { setOnline(false); });
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible' && waitingItems().length) { retrySoon(); }
  });

  function showAlert(message) {
    var box = $('judge-alert');
    if (!box) { return; }
    box.textContent = message || '';
    box.hidden = !message;
  }

  // --- The bar on every judge page ----------------------------------------------------------------------

  function renderBar() {
    var net = $('net-state');
    if (net) {
      net.dataset.state = state.online ? 'online' : 'offline';
      net.textContent = state.online ? '在线' : '离线';
    }
    var waiting = waitingItems().length;
    var refused = refusedItems().length;
    var badge = $('outbox-badge');
    if (badge) {
      badge.dataset.count = String(waiting);
      $('outbox-count').textContent = String(waiting);
      badge.title = waiting ? (waiting + ' 份评分保存在本机，联网后自动发送') : '没有等待发送的评分';
    }
    var refusedBadge = $('refused-badge');
    if (refusedBadge) {
      refusedBadge.hidden = refused === 0;
      $('refused-count').textContent = String(refused);
    }
    if (state.authProblem) {
      showAlert('登录已失效：评分仍保存在本机。请重新登录（' + urls.login + '），登录后会自动发送。');
    } else if (state.foreignWaiting) {
      showAlert('本机还有 ' + state.foreignWaiting + ' 份其他评委未发送的评分，请那位评委登录后发送。');
    } else {
      showAlert('');
    }
  }

  // --- Entry state as the judge should see it -------------------------------------------------------------

  /* {state: none|draft|submitted|waiting|refused, label, values, comment, status} */
  function entryState(item) {
    var waiting = itemsFor(item.round_id, item.entry.id, 'waiting');
    var all = itemsFor(item.round_id, item.entry.id);
    var last = all.length ? all[all.length - 1] : null;
    var score = item.score;
    if (waiting.length) {
      var w = waiting[waiting.length - 1];
      return { state: 'waiting', status: w.payload.status, values: w.payload.values, comment: w.payload.comment,
               label: (w.payload.status === 'submitted' ? '已提交' : '草稿') + '·待发送', record: w };
    }
    if (last && last.state === 'refused' && !last.superseded) {
      return { state: 'refused', status: last.payload.status, values: last.payload.values,
               comment: last.payload.comment, label: '被拒绝', record: last };
    }
    if (score) {
      return { state: score.status, status: score.status, values: score.values, comment: score.comment,
               label: score.status === 'submitted' ? '已提交' : '草稿' };
    }
    return { state: 'none', status: null, values: {}, comment: '', label: '未评' };
  }

  function totalOf(values) {
    var sum = 0;
    var any = false;
    Object.keys(values || {}).forEach(function (k) {
      if (values[k] !== '' && values[k] !== null && values[k] !== undefined) { sum += toTenths(values[k]); any = true; }
    });
    return any ? fromTenths(sum) : '';
  }

  function maxOf(item) {
    return fromTenths(item.criteria.reduce(function (s, c) { return s + toTenths(c.max); }, 0));
  }

  // --- Attachments and the full-screen viewer ----------------------------------------------------------------

  function fileUrl(attachment) { return urls.file + attachment.id; }

  function openViewer(src) {
    var viewer = $('viewer');
    if (!viewer) { window.open(src, '_blank'); return; }
    $('viewer-img').src = src;
    $('viewer-open').href = src;
    viewer.hidden = false;
    document.body.classList.add('viewer-open');
    $('viewer-close').focus();
  }

  function closeViewer() {
    var viewer = $('viewer');
    if (!viewer) { return; }
    viewer.hidden = true;
    $('viewer-img').removeAttribute('src');
    document.body.classList.remove('viewer-open');
  }

  function attachmentsView(item, size) {
    var box = el('div', { className: 'attachment-list ' + size });
    item.entry.attachments.forEach(function (a, index) {
      var label = item.entry.code + '-' + (index + 1);
      if (a.kind === 'image') {
        box.appendChild(el('button', {
          type: 'button', className: 'thumb', 'aria-label': '查看图片 ' + label,
          onclick: function () { openViewer(fileUrl(a)); }
        }, [el('img', { src: fileUrl(a), alt: label, loading: 'lazy' })]));
      } else {
        box.appendChild(el('a', { className: 'pdf-link', href: fileUrl(a), target: '_blank', rel: 'noopener' },
          [el('span', { className: 'pdf-icon', text: 'PDF' }), label]));
      }
    });
    if (item.entry.video_url) {
      box.appendChild(el('a', { className: 'pdf-link video-link', href: item.entry.video_url, target: '_blank',
                                rel: 'noopener noreferrer' }, [el('span', { className: 'pdf-icon', text: '视频' }), '视频链接']));
    }
    return box;
  }

  function metaText(item) {
    var e = item.entry;
    return [e.category + (e.subform ? '·' + e.subform : ''), e.division, item.round].join(' · ');
  }

  // --- The queue page --------------------------------------------------------------------------------------

  function renderProgress() {
    var box = $('progress');
    if (!box) { return; }
    var rounds = [];
    var byRound = {};
    state.queue.forEach(function (item) {
      var row = byRound[item.round_id];
      if (!row) {
        row = byRound[item.round_id] = { name: item.round, locked: item.locked, assigned: 0, scored: 0, waiting: 0 };
        rounds.push(row);
      }
      row.assigned += 1;
      var s = entryState(item);
      if ((s.state === 'waiting' && s.status === 'submitted') || (item.score && item.score.status === 'submitted')) {
        row.scored += 1;
      }
      if (s.state === 'waiting') { row.waiting += 1; }
    });
    box.textContent = '';
    if (!rounds.length) {
      box.appendChild(el('p', { className: 'muted', text: '目前没有分配给您的作品。评审开始后请刷新本页。' }));
      return;
    }
    rounds.forEach(function (row) {
      var bar = el('span', { className: 'bar' }, [el('span', { className: 'bar-fill' })]);
      bar.firstChild.style.width = (row.assigned ? Math.round(100 * row.scored / row.assigned) : 0) + '%';
      box.appendChild(el('div', { className: 'progress-row' }, [
        el('span', { className: 'progress-name' }, [row.name, row.locked ? el('span', { className: 'badge danger', text: '已锁定' }) : null]),
        bar,
        el('span', { className: 'progress-count' }, [el('b', { text: String(row.scored) }), ' / ' + row.assigned + ' 已提交',
          row.waiting ? el('span', { className: 'muted', text: '（' + row.waiting + ' 份待发送）' }) : null])
      ]));
    });
  }

  function renderOutbox() {
    var panel = $('outbox');
    var list = $('outbox-list');
    if (!panel || !list) { return; }
    list.textContent = '';
    state.outbox.forEach(function (record) {
      var item = findItem(record.round_id, record.entry_id);
      var what = (record.payload.status === 'submitted' ? '提交' : '草稿') + ' · 总分 ' + (totalOf(record.payload.values) || '—');
      var line = el('li', { className: 'outbox-item', 'data-state': record.state, 'data-entry-id': record.entry_id }, [
        el('span', { className: 'outbox-code', text: record.entry_code }),
        el('span', { className: 'outbox-what', text: what + ' · ' + timeText(record.created_at) }),
        el('span', { className: 'outbox-state', text: record.state === 'refused' ? '被拒绝：' + record.message
          : '待发送' + (record.message ? '（' + record.message + '）' : '') })
      ]);
      if (record.state === 'refused') {
        if (item) {
          line.appendChild(el('a', { className: 'btn small', href: urls.entry + record.round_id + '/' + record.entry_id, text: '查看' }));
        }
        line.appendChild(el('button', { type: 'button', className: 'btn small', text: '移除',
          onclick: function () {
            deleteItem(record.idempotency_key).then(function () {
              state.outbox = state.outbox.filter(function (i) { return i !== record; });
              render();
            });
          } }));
      }
      list.appendChild(line);
    });
    panel.hidden = state.outbox.length === 0;
  }

  function renderQueue() {
    var list = $('queue-list');
    if (!list) { return; }
    list.textContent = '';
    state.queue.forEach(function (item) {
      var s = entryState(item);
      var total = totalOf(s.values);
      var href = urls.entry + item.round_id + '/' + item.entry.id;
      list.appendChild(el('li', { className: 'queue-item', 'data-entry-id': item.entry.id, 'data-round-id': item.round_id,
                                  'data-state': s.state }, [
        el('a', { className: 'queue-main', href: href }, [
          el('span', { className: 'queue-code', text: item.entry.code }),
          el('span', { className: 'queue-title', text: item.entry.title }),
          el('span', { className: 'queue-meta', text: metaText(item) })
        ]),
        attachmentsView(item, 'small'),
        el('div', { className: 'queue-side' }, [
          el('span', { className: 'chip chip-' + s.state, text: s.label }),
          el('span', { className: 'queue-total', text: total ? total + ' 分' : '' }),
          el('a', { className: 'btn primary score-link', href: href,
                    text: item.locked ? '查看' : (s.state === 'none' ? '评分' : '修改') })
        ])
      ]));
    });
    if (!state.queue.length) {
      list.appendChild(el('li', { className: 'queue-empty muted', text: '没有需要评分的作品。' }));
    }
  }

  // --- The scoring page ----------------------------------------------------------------------------------

  var form = null;  // {item, rows: [{criterion, input, range, error}], dirty}

  function currentEntryIds() {
    var match = /\/(\d+)\/(\d+)\/?$/.exec(location.pathname);
    return match ? { round: parseInt(match[1], 10), entry: parseInt(match[2], 10) } : null;
  }

  function parseValue(text, criterion) {
    text = (text || '').trim();
    if (text === '') { return { empty: true }; }
    if (!NUMBER.test(text)) {
      return { error: /^\d+\.\d{2,}$/.test(text) ? '最多一位小数' : '请输入数字' };
    }
    var tenths = toTenths(text);
    if (tenths < 0 || tenths > toTenths(criterion.max)) { return { error: '应在0到' + fmt(criterion.max) + '分之间' }; }
    return { tenths: tenths, text: fromTenths(tenths) };
  }

  function setRow(row, text) {
    row.input.value = text;
    checkRow(row);
  }

  function checkRow(row) {
    var parsed = parseValue(row.input.value, row.criterion);
    row.error.textContent = parsed.error ? row.criterion.name + '：' + parsed.error : '';
    row.box.classList.toggle('has-error', !!parsed.error);
    row.box.classList.toggle('is-empty', !!parsed.empty);
    if (parsed.tenths !== undefined) { row.range.value = String(parsed.tenths / 10); }
    else if (parsed.empty) { row.range.value = '0'; }
    return parsed;
  }

  function step(row, delta) {
    var parsed = parseValue(row.input.value, row.criterion);
    var current = parsed.tenths !== undefined ? parsed.tenths : 0;
    var next = Math.max(0, Math.min(toTenths(row.criterion.max), current + delta * 10));
    if (parsed.empty && delta < 0) { next = 0; }
    setRow(row, fromTenths(next));
    changed();
  }

  function changed() {
    if (!form) { return; }
    form.dirty = true;
    renderTotal();
    renderStatus();
  }

  function readForm(forSubmit) {
    var values = {};
    var problems = [];
    form.rows.forEach(function (row) {
      var parsed = checkRow(row);
      if (parsed.error) { problems.push(row.criterion.name + '：' + parsed.error); }
      else if (parsed.empty) {
        if (forSubmit) {
          problems.push(row.criterion.name + '：提交前请打分');
          row.error.textContent = row.criterion.name + '：提交前请打分';
          row.box.classList.add('has-error');
        }
      } else { values[String(row.criterion.id)] = parsed.text; }
    });
    return { values: values, problems: problems, comment: $('score-comment').value.trim() };
  }

  function renderTotal() {
    var tenths = 0;
    var any = false;
    form.rows.forEach(function (row) {
      var parsed = parseValue(row.input.value, row.criterion);
      if (parsed.tenths !== undefined) { tenths += parsed.tenths; any = true; }
    });
    $('score-total').textContent = any ? fromTenths(tenths) : '—';
  }

  function fillForm(values, comment) {
    form.rows.forEach(function (row) {
      var v = values ? values[String(row.criterion.id)] : undefined;
      setRow(row, v === undefined || v === null ? '' : fmt(v));
    });
    $('score-comment').value = comment || '';
    form.dirty = false;
    renderTotal();
  }

  function renderStatus() {
    var item = form.item;
    var s = entryState(item);
    var box = $('score-status');
    var parts = [];
    var server = item.score;
    parts.push(server ? ('服务器版本 ' + server.version + '（' + (server.status === 'submitted' ? '已提交' : '草稿') + '）')
      : '服务器上尚无评分');
    var shown = s.state;
    if (s.state === 'waiting') {
      var n = itemsFor(item.round_id, item.entry.id, 'waiting').length;
      parts.push('待发送 ' + n + ' 份');
      parts.push('已存本机，联网后自动发送');
    } else if (s.state === 'refused') {
      parts.push('被拒绝，未保存');
    } else if (server && state.lastSent[entryKey(item.round_id, item.entry.id)]) {
      parts.push('已发送 ✓');
      shown = 'sent';
    } else if (server) {
      shown = 'stored';
    }
    if (form.dirty) { parts.push('有未保存的修改'); }
    box.dataset.state = shown;
    box.textContent = '';
    parts.forEach(function (part, index) {
      if (index) { box.appendChild(document.createTextNode(' · ')); }
      box.appendChild(el('span', { text: part }));
    });

    var refusedNote = $('refused-note');
    if (s.state === 'refused') {
      refusedNote.textContent = '这份评分被服务器拒绝，没有保存：' + s.record.message;
      refusedNote.hidden = false;
    } else {
      refusedNote.hidden = true;
    }
    var locked = !!item.locked;
    $('locked-note').hidden = !locked;
    $('locked-note').textContent = locked ? item.round + '评分已锁定，不能再修改。如需更正请联系组委会。' : '';
    var submitted = s.status === 'submitted' && s.state !== 'refused';
    form.rows.forEach(function (row) {
      row.input.disabled = locked; row.range.disabled = locked;
      row.minus.disabled = locked; row.plus.disabled = locked;
    });
    $('score-comment').disabled = locked;
    $('submit-score').disabled = locked || form.saving;
    $('submit-score').textContent = submitted ? '修改后再次提交' : '提交评分';
    var draft = $('save-draft');
    draft.disabled = locked || submitted || form.saving;
    draft.title = submitted ? '已提交的评分不能改回草稿，可以修改后再次提交' : '';
  }

  function save(status) {
    if (!form || form.saving || form.item.locked) { return; }
    var read = readForm(status === 'submitted');
    if (read.problems.length) {
      showFormError(read.problems);
      return;
    }
    showFormError([]);
    form.saving = true;
    renderStatus();
    enqueue(form.item, read.values, read.comment, status).then(function () {
      form.saving = false;
      form.dirty = false;
      render();
    }, function () {
      form.saving = false;
      showFormError(['无法保存到本机（IndexedDB），请勿关闭页面并联系组委会。']);
      renderStatus();
    });
  }

  function showFormError(problems) {
    var box = $('refused-note');
    if (problems.length) {
      box.textContent = '请修改后再保存：' + problems.join('；');
      box.hidden = false;
      box.dataset.kind = 'form';
    } else if (box.dataset.kind === 'form') {
      box.hidden = true;
      box.dataset.kind = '';
    }
  }

  function criterionRow(criterion) {
    var id = 'crit-' + criterion.id;
    var row = { criterion: criterion };
    row.input = el('input', { id: id, className: 'crit-value', type: 'text', inputmode: 'decimal', autocomplete: 'off',
                              'data-criterion-id': criterion.id, 'aria-describedby': id + '-desc',
                              placeholder: '0–' + fmt(criterion.max) });
    row.minus = el('button', { type: 'button', className: 'stepper minus', 'aria-label': criterion.name + ' 减1分', text: '−' });
    row.plus = el('button', { type: 'button', className: 'stepper plus', 'aria-label': criterion.name + ' 加1分', text: '+' });
    row.range = el('input', { type: 'range', className: 'crit-range', min: '0', max: fmt(criterion.max), step: '0.5',
                              value: '0', 'aria-label': criterion.name + ' 滑动打分', tabindex: '-1' });
    row.error = el('div', { className: 'error', role: 'alert' });
    row.box = el('div', { className: 'criterion is-empty', 'data-criterion-id': criterion.id }, [
      el('div', { className: 'crit-head' }, [
        el('label', { className: 'crit-name', for: id }, [criterion.name]),
        el('span', { className: 'crit-max', text: '满分 ' + fmt(criterion.max) })
      ]),
      el('div', { className: 'crit-desc', id: id + '-desc', text: criterion.descriptor || '' }),
      el('div', { className: 'crit-input' }, [row.minus, row.input, row.plus]),
      row.range,
      row.error
    ]);
    row.minus.addEventListener('click', function () { step(row, -1); });
    row.plus.addEventListener('click', function () { step(row, 1); });
    row.input.addEventListener('input', function () { checkRow(row); changed(); });
    row.input.addEventListener('blur', function () {
      var parsed = checkRow(row);
      if (parsed.text !== undefined && parsed.text !== row.input.value) { row.input.value = parsed.text; }
    });
    row.range.addEventListener('input', function () { setRow(row, fmt(row.range.value)); changed(); });
    return row;
  }

  function setupEntryPage() {
    var ids = currentEntryIds();
    var item = ids ? findItem(ids.round, ids.entry) : null;
    if (!item) {
      $('entry-view').hidden = true;
      $('entry-missing').hidden = false;
      return;
    }
    document.title = item.entry.code + ' 评分';
    $('entry-code').textContent = item.entry.code;
    $('entry-title').textContent = item.entry.title;
    $('entry-meta').textContent = metaText(item);
    var side = $('entry-attachments');
    side.textContent = '';
    if (item.entry.attachments.length || item.entry.video_url) { side.appendChild(attachmentsView(item, 'large')); }
    var description = $('entry-description');
    description.textContent = '';
    if (item.entry.description) {
      description.appendChild(el('h2', { text: '作品说明' }));
      description.appendChild(el('p', { text: item.entry.description }));
    }
    // Nothing to show beside the rubric: let the rubric have the whole width.
    $('entry-view').classList.toggle('no-side', !item.entry.attachments.length && !item.entry.video_url &&
                                                !item.entry.description);
    // Neighbours in the same round, for 上一件 / 下一件.
    var sameRound = state.queue.filter(function (i) { return i.round_id === item.round_id; });
    var at = sameRound.indexOf(item);
    [['prev-entry', sameRound[at - 1]], ['next-entry', sameRound[at + 1]]].forEach(function (pair) {
      var link = $(pair[0]);
      link.hidden = !pair[1];
      if (pair[1]) { link.href = urls.entry + pair[1].round_id + '/' + pair[1].entry.id; }
    });

    form = { item: item, rows: [], dirty: false, saving: false };
    var box = $('criteria');
    box.textContent = '';
    item.criteria.forEach(function (criterion) {
      var row = criterionRow(criterion);
      form.rows.push(row);
      box.appendChild(row.box);
    });
    $('score-max').textContent = ' / ' + maxOf(item);
    var s = entryState(item);
    fillForm(s.values, s.comment);
    $('score-comment').addEventListener('input', changed);
    $('save-draft').addEventListener('click', function () { save('draft'); });
    $('submit-score').addEventListener('click', function () { save('submitted'); });
    $('score-form').addEventListener('submit', function (event) { event.preventDefault(); });
    renderStatus();
  }

  function refreshEntryPage() {
    if (!form) { return; }
    var item = findItem(form.item.round_id, form.item.entry.id);
    if (!item) { return; }
    var before = form.item.score ? form.item.score.version : 0;
    form.item = item;
    // A newer version arrived from the server (another device): show it unless the judge is typing.
    var after = item.score ? item.score.version : 0;
    if (after > before && !form.dirty && entryState(item).state !== 'waiting') {
      fillForm(entryState(item).values, entryState(item).comment);
    }
    renderStatus();
  }

  // --- Everything ----------------------------------------------------------------------------------------

  function render() {
    renderBar();
    if (config.page === 'home') {
      renderProgress();
      renderOutbox();
      renderQueue();
    } else if (form) {
      refreshEntryPage();
    }
  }

  function setupViewer() {
    var viewer = $('viewer');
    if (!viewer) { return; }
    $('viewer-close').addEventListener('click', closeViewer);
    viewer.addEventListener('click', function (event) {
      if (event.target === viewer || event.target.classList.contains('viewer-stage')) { closeViewer(); }
    });
    document.addEventListener('keydown', function (event) { if (event.key === 'Escape') { closeViewer(); } });
  }

  /* Logging out: warn about waiting scores (they stay on this tablet for the next login) and drop the
     cached pages, so the next person on this tablet never sees them. */
  function guardLogout() {
    document.querySelectorAll('form[action$="/logout"]').forEach(function (logoutForm) {
      logoutForm.addEventListener('submit', function (event) {
        event.preventDefault();
        var waiting = waitingItems().length;
        if (waiting && !window.confirm('还有 ' + waiting + ' 份评分没有发送到服务器。它们会保存在这台设备上，' +
          '您下次登录后自动发送。确定退出吗？')) { return; }
        var clearing = [idb('queue', 'readwrite', function (s) { return s.delete(judgeId); }).catch(function () {})];
        if (window.caches) {
          clearing.push(caches.keys().then(function (keys) {
            return Promise.all(keys.filter(function (k) { return k.indexOf('judge-') === 0; })
              .map(function (k) { return caches.delete(k); }));
          }).catch(function () {}));
        }
        Promise.all(clearing).then(function () { logoutForm.submit(); });
      });
    });
  }

  /* The service worker: caches the judge's pages and assets for a reload while offline. Service workers
     need a secure context (https, or http://localhost / 127.0.0.1); over plain http on a LAN the outbox
     still works, but a reload while offline does not. */
  function setupServiceWorker() {
    var ready = $('offline-ready');
    if (!('serviceWorker' in navigator)) {
      if (ready) { ready.hidden = false; ready.dataset.state = 'none'; ready.textContent = '离线刷新不可用（需 HTTPS）'; }
      return;
    }
    navigator.serviceWorker.addEventListener('message', function (event) {
      var data = event.data || {};
      if (data.type === 'warmed') {
        document.documentElement.dataset.offlineReady = data.ready ? '1' : '0';
        if (ready) {
          ready.hidden = !data.ready;
          ready.dataset.state = data.ready ? 'ready' : 'none';
          ready.textContent = '可离线评分';
        }
      }
    });
    navigator.serviceWorker.register(urls.sw, { scope: urls.home }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var pages = [urls.home, location.pathname, urls.api_queue];
      if (state.queue.length) {
        pages.push(urls.entry + state.queue[0].round_id + '/' + state.queue[0].entry.id);
      }
      // The photos too, so they can be looked at offline (PDFs are cached once opened).
      var photos = [];
      state.queue.forEach(function (item) {
        item.entry.attachments.forEach(function (a) { if (a.kind === 'image') { photos.push(fileUrl(a)); } });
      });
      var worker = registration.active || navigator.serviceWorker.controller;
      if (worker && state.online) {
        worker.postMessage({ type: 'warm', urls: pages });
        worker.postMessage({ type: 'warm-files', urls: photos });
      } else if (worker) {
        worker.postMessage({ type: 'status' });
      }
    }).catch(function () {
      if (ready) { ready.hidden = false; ready.dataset.state = 'none'; ready.textContent = '离线刷新不可用'; }
    });
  }

  function start() {
    setupViewer();
    guardLogout();
    Promise.all([loadStoredQueue(), loadOutbox()]).then(function () {
      if (config.page === 'entry') { setupEntryPage(); }
      render();
      document.documentElement.dataset.judgeReady = '1';
      setupServiceWorker();
      flush();
    });
  }

  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); }
  else { start(); }
}());

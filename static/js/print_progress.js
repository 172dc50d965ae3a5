/* The print job page: polls the job's JSON status until it is done or failed, moving the
   progress bar, then shows the download link. No inline script (CSP script-src 'self'). */
(function () {
  'use strict';
  var box = document.getElementById('job-progress');
  if (!box || !window.fetch) { return; }
  var bar = document.getElementById('job-bar');
  var count = document.getElementById('job-count');
  var message = document.getElementById('job-message');
  var download = document.getElementById('job-download');
  var url = box.getAttribute('data-status-url');
  var failures = 0;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  function show(state) {
    bar.max = Math.max(state.total, 1);
    bar.value = state.done;
    if (state.status === 'done') {
      bar.value = bar.max;
      count.textContent = fill(box.getAttribute('data-done-text'), {n: state.total});
    } else if (state.status === 'running') {
      count.textContent = fill(box.getAttribute('data-running-text'), {done: state.done, total: state.total});
    } else {
      count.textContent = '';
    }
    if (state.message) {
      message.textContent = state.message;
      message.hidden = false;
    } else {
      message.hidden = true;
    }
    if (state.available && state.download) {
      download.href = state.download;
      download.hidden = false;
    }
  }

  function poll() {
    fetch(url, {credentials: 'same-origin', headers: {'Accept': 'application/json'}, cache: 'no-store'})
      .then(function (response) {
        if (!response.ok) { throw new Error('HTTP ' + response.status); }
        return response.json();
      })
      .then(function (state) {
        failures = 0;
        show(state);
        if (state.status === 'running') { window.setTimeout(poll, 1000); }
      })
      .catch(function () {
        failures += 1;
        if (failures >= 5) {
          message.textContent = box.getAttribute('data-error-text');
          message.hidden = false;
          return;
        }
        window.setTimeout(poll, 2000 * failures);
      });
  }

  poll();
})();

/* Asks before a destructive submit: <button type="submit" data-confirm="确定删除？">.
   Bound here, not inline: the Content-Security-Policy forbids inline script. */
(function () {
  'use strict';
  var lastClicked = null;
  document.addEventListener('click', function (event) {
    var target = event.target;
    lastClicked = target && target.closest ? target.closest('button, input[type=submit]') : null;
  }, true);
  document.addEventListener('submit', function (event) {
    var form = event.target;
    var button = event.submitter || (lastClicked && lastClicked.form === form ? lastClicked : null);
    var message = (button && button.getAttribute('data-confirm')) || form.getAttribute('data-confirm');
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();

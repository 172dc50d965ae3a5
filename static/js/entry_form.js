/* The entry form (作品报名): shows only the chosen category's 作品形式 and as many student and
   instructor rows as that category allows, with buttons to add and remove rows.
   Progressive enhancement: without this script the form shows every option and every row and
   still works (the server checks everything). Bound here, not inline: the CSP forbids inline script. */
(function () {
  'use strict';
  var form = document.querySelector('form.entry-form');
  if (!form) { return; }
  var locked = !!form.querySelector('fieldset.plain[disabled]');
  var category = form.querySelector('select[name="category"]');
  var subform = form.querySelector('select[name="subform"]');
  var subformField = subform ? subform.closest('.field') : null;
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };

  function chosenCategory() {
    return category ? category.options[category.selectedIndex] : null;
  }

  function categoryMax(kind, fallback) {
    var option = chosenCategory();
    var value = option ? option.getAttribute('data-max-' + kind) : null;
    return value === null ? fallback : parseInt(value, 10);
  }

  /* 作品形式: every option is kept here; the select shows those of the chosen category. */
  var subforms = [];
  var placeholder = null;
  if (subform) {
    placeholder = subform.querySelector('option[value=""]');
    each(subform.querySelectorAll('option[data-category]'), function (option) {
      subforms.push({ value: option.value, label: option.textContent, category: option.getAttribute('data-category') });
    });
  }

  function filterSubforms() {
    if (!subform) { return; }
    var current = subform.value;
    var wanted = category ? category.value : '';
    while (subform.firstChild) { subform.removeChild(subform.firstChild); }
    if (placeholder) { subform.appendChild(placeholder); }
    var shown = 0;
    subforms.forEach(function (item) {
      if (item.category !== wanted) { return; }
      var option = document.createElement('option');
      option.value = item.value;
      option.textContent = item.label;
      option.selected = item.value === current;
      subform.appendChild(option);
      shown += 1;
    });
    if (placeholder) {
      placeholder.textContent = shown ? (subform.getAttribute('data-choose') || placeholder.textContent)
                                      : (subform.getAttribute('data-none') || placeholder.textContent);
      if (!subform.querySelector('option:checked')) { placeholder.selected = true; }
    }
    if (subformField) { subformField.hidden = shown === 0; }
    subform.disabled = shown === 0 || locked;
  }

  /* Rows of students and instructors. */
  function setupRows(fieldset) {
    var kind = fieldset.getAttribute('data-rows');
    var min = parseInt(fieldset.getAttribute('data-min'), 10) || 0;
    var rows = Array.prototype.slice.call(fieldset.querySelectorAll('.entry-row'));
    var add = fieldset.querySelector('[data-add]');

    function fields(row) { return Array.prototype.slice.call(row.querySelectorAll('input, select')); }
    function filled(row) {
      return fields(row).some(function (el) { return el.tagName === 'INPUT' && el.value.trim() !== ''; })
        || row.classList.contains('has-error');
    }
    function lastFilled() {
      var n = 0;
      rows.forEach(function (row, i) { if (filled(row)) { n = i + 1; } });
      return n;
    }
    function visible() { return rows.filter(function (row) { return !row.hidden; }).length; }
    function maxRows() { return Math.min(categoryMax(kind, rows.length), rows.length); }

    function show(count) {
      var max = maxRows();
      rows.forEach(function (row, i) {
        var on = i < count;
        row.hidden = !on;
        fields(row).forEach(function (el) { el.disabled = !on || locked; });
        var remove = row.querySelector('[data-remove]');
        // Nothing to remove: the last row standing when fewer are allowed, or a lone empty row.
        if (remove) { remove.hidden = locked || !on || count <= min || (count === 1 && !filled(row)); }
      });
      if (add) { add.hidden = locked || count >= max; }
      fieldset.classList.toggle('single', max <= 1);
      fieldset.hidden = count === 0 && max === 0;
    }

    function layout(initial) {
      var max = maxRows();
      var count = initial ? Math.max(lastFilled(), min, max > 0 ? 1 : 0) : visible();
      // Never hide a row that holds something: the server then says the category allows fewer.
      show(Math.max(Math.min(count, max), min, lastFilled()));
    }

    function clearErrors(from) {
      rows.slice(from).forEach(function (row) {
        row.classList.remove('has-error');
        each(row.querySelectorAll('.row-errors'), function (el) { el.parentNode.removeChild(el); });
      });
    }

    fieldset.addEventListener('click', function (event) {
      var button = event.target.closest ? event.target.closest('button') : null;
      if (!button || locked) { return; }
      if (button.hasAttribute('data-add')) {
        var count = visible();
        if (count < maxRows()) {
          show(count + 1);
          var first = rows[count].querySelector('input');
          if (first) { first.focus(); }
        }
      } else if (button.hasAttribute('data-remove')) {
        var row = button.closest('.entry-row');
        var index = rows.indexOf(row);
        var last = visible() - 1;
        // Shift the rows below up by one, then empty and hide the last one.
        for (var i = index; i < last; i += 1) {
          var from = fields(rows[i + 1]);
          fields(rows[i]).forEach(function (el, k) { el.value = from[k].value; });
        }
        fields(rows[last]).forEach(function (el) { el.value = ''; });
        clearErrors(index);
        show(last);
        var target = rows[Math.min(index, last - 1)];
        var input = target && !target.hidden ? target.querySelector('input') : null;
        if (input || add) { (input || add).focus(); }
      }
    });
    return layout;
  }

  var layouts = [];
  each(form.querySelectorAll('fieldset[data-rows]'), function (fieldset) { layouts.push(setupRows(fieldset)); });

  function update(initial) {
    filterSubforms();
    layouts.forEach(function (layout) { layout(initial); });
  }

  if (category) { category.addEventListener('change', function () { update(false); }); }
  update(true);
})();

// New-ticket form: suggests known customers while the email is typed (by name, email or
// organization) and, when a known email is chosen, fills in the name, phone and organization.
// A progressive enhancement only: without it the form works the same (the customer is found by email).
(function () {
  'use strict';
  var email = document.getElementById('customerEmail');
  if (!email || !window.fetch || !window.AbortController) return;
  var FIELDS = { name: 'customerName', phone: 'customerPhone', organization: 'customerOrganization' };

  var list = document.createElement('datalist');
  list.id = 'customer-suggestions';
  email.insertAdjacentElement('afterend', list);
  email.setAttribute('list', list.id);
  email.setAttribute('autocomplete', 'off');

  var status = document.createElement('p');
  status.className = 'hint lookup-status';
  status.setAttribute('aria-live', 'polite');
  list.insertAdjacentElement('afterend', status);

  var known = new Map();
  var timer = 0;
  var pending = null;
  var filledFor = '';

  function fill() {
    var c = known.get(email.value.trim().toLowerCase());
    if (!c) {
      if (filledFor) status.textContent = '';
      filledFor = '';
      return;
    }
    if (filledFor === c.email) return;
    filledFor = c.email;
    Object.keys(FIELDS).forEach(function (key) {
      var input = document.getElementById(FIELDS[key]);
      if (input) input.value = c[key] || '';
    });
    status.textContent = 'Known customer: ' + c.name + (c.organization ? ' (' + c.organization + ')' : '') + '. Their record is used.';
  }

  function lookup(q) {
    if (pending) pending.abort();
    pending = new AbortController();
    fetch('/customers/lookup?q=' + encodeURIComponent(q), {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
      signal: pending.signal,
    })
      .then(function (res) { return res.ok ? res.json() : { customers: [] }; })
      .then(function (data) {
        var options = (data.customers || []).map(function (c) {
          known.set(c.email, c);
          var option = document.createElement('option');
          option.value = c.email;
          option.label = c.name + (c.organization ? ' · ' + c.organization : '') + (c.plain ? ' · ' + c.plain : '');
          return option;
        });
        list.replaceChildren.apply(list, options);
        fill();
      })
      .catch(function () { /* offline, signed out or superseded: the form still works */ });
  }

  email.addEventListener('input', function () {
    fill();
    clearTimeout(timer);
    var q = email.value.trim();
    if (q.length >= 2) timer = setTimeout(function () { lookup(q); }, 200);
  });
})();

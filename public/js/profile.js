// The profile page works without this. With it: when the device's time zone differs from the one
// chosen, a button offers to pick the device's (the form is still sent with Save).
(function () {
  'use strict';
  var select = document.getElementById('timeZone');
  var note = document.getElementById('zone-guess');
  if (!select || !note || typeof Intl === 'undefined') return;
  var device;
  try {
    device = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  var option = Array.prototype.find.call(select.options, function (o) { return o.value === device; });
  if (!device || !option || select.value === device) return;
  note.textContent = 'Your device is set to ' + option.textContent + '. ';
  var use = document.createElement('button');
  use.type = 'button';
  use.className = 'small secondary';
  use.textContent = 'Use it';
  use.addEventListener('click', function () {
    select.value = device;
    note.hidden = true;
    select.focus();
  });
  note.appendChild(use);
  note.hidden = false;
})();

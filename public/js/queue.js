// The queue's bulk form: "Select all on this page" ticks every row's box, and reads as ticked,
// partly ticked or not as the rows are. A progressive enhancement only: without it the box is sent
// as it is, and the server takes every row of the page (the rows' hidden fields) when it is ticked.
(function () {
  'use strict';
  var all = document.getElementById('select-all');
  var form = document.getElementById('bulk');
  if (!all || !form) return;
  var boxes = Array.prototype.slice.call(form.querySelectorAll('input[type=checkbox][name=t]'));

  function sync() {
    var ticked = boxes.filter(function (b) { return b.checked; }).length;
    all.checked = ticked > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }

  all.addEventListener('change', function () {
    boxes.forEach(function (b) { b.checked = all.checked; });
    all.indeterminate = false;
  });
  boxes.forEach(function (b) { b.addEventListener('change', sync); });
  sync();
})();

// Canned replies (views/tickets/_canned.ejs): with JavaScript, "Use this text" inserts the chosen
// reply's text at the cursor of the reply box instead of reloading the page with it pre-filled.
(function () {
  for (const form of document.querySelectorAll('form.canned-form')) {
    form.addEventListener('submit', function (event) {
      const box = document.getElementById(form.getAttribute('data-canned-target') || '');
      const select = form.querySelector('select');
      const option = select && select.options[select.selectedIndex];
      if (!box || !option) return;
      event.preventDefault();
      const text = option.getAttribute('data-text') || '';
      const start = box.selectionStart ?? box.value.length;
      const end = box.selectionEnd ?? box.value.length;
      box.value = box.value.slice(0, start) + text + box.value.slice(end);
      box.focus();
      box.selectionStart = box.selectionEnd = start + text.length;
      box.dispatchEvent(new Event('input', { bubbles: true }));
    });
  }
})();

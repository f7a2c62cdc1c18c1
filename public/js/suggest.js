// Progressive enhancement for the new-ticket form: while the title is typed, fetch matching
// articles and open tickets (debounced) and show them under the title. Without JavaScript the
// "Look for similar problems first" button does the same with a page load.
(function () {
  const box = document.getElementById('suggestions');
  const title = document.getElementById('title');
  if (!box || !title || !window.fetch) return;
  let timer = 0;
  let last = '';
  let controller = null;
  title.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(async function () {
      const text = title.value.trim();
      if (text === last || text.length < 3) return;
      last = text;
      if (controller) controller.abort();
      controller = new AbortController();
      try {
        const res = await fetch(box.dataset.suggestUrl + '?title=' + encodeURIComponent(text), {
          credentials: 'same-origin',
          signal: controller.signal,
        });
        if (res.ok) box.innerHTML = await res.text(); // server-rendered, escaped fragment
      } catch (err) {
        if (err.name !== 'AbortError') box.textContent = '';
      }
    }, 350);
  });
})();

// Live updates of the ticket page (progressive enhancement: without JavaScript the page is as it
// was, with no presence). An event stream (src/web/live.ts) says when the ticket changed and who
// else has it open; on a change the page fetches itself and swaps in the parts marked data-live:
// always those without forms; a part with a form only while none of its forms holds the user's
// input or the focus. Anything held back is offered by a banner ("This ticket changed — …, show
// the latest"): a form the user is filling in keeps the version it was filled in from, so the
// server's per-field conflict rules (src/services/tickets/stale.ts) still see what it was based on.
// While the user types a reply or a note, the others see "… is writing" (beats throttled to one
// per 4 s; the server forgets a beat after 10 s; sending the form or emptying it says stopped).
(function () {
  const article = document.querySelector('article.ticket[data-events]');
  if (!article || !window.EventSource || !window.fetch || !window.DOMParser) return;
  const presence = document.getElementById('presence');
  const banner = document.getElementById('live-banner');
  // A polite live region from the start, so that its news is read out (only with this script:
  // the page's role="status" is the confirmation of the user's own action).
  banner.setAttribute('role', 'status');
  const reference = article.dataset.reference;
  // The ticket's own address: a refused form's page stands at the form's (…/worklog).
  const pageUrl = '/tickets/' + reference;
  const csrfInput = document.querySelector('input[name="_csrf"]');
  const csrf = csrfInput ? csrfInput.value : '';

  // --- Changes ---------------------------------------------------------------------------------
  let fetching = false;
  let again = false;
  let timer = 0;
  /** Entries this page has shown: a new one counts for the banner. */
  const seen = new Set(Array.from(document.querySelectorAll('[data-entry]'), (li) => li.dataset.entry));

  function dirty(form) {
    for (const el of form.elements) {
      if (el.type === 'hidden' || el.type === 'submit' || el.type === 'button') continue;
      if (el.type === 'checkbox' || el.type === 'radio') { if (el.checked !== el.defaultChecked) return true; }
      else if (el.type === 'file') { if (el.files && el.files.length) return true; }
      else if (el.tagName === 'SELECT') { for (const o of el.options) if (o.selected !== o.defaultSelected) return true; }
      else if (el.value !== el.defaultValue) return true;
    }
    return false;
  }
  /**
   * A part may be replaced when the user is not in it and none of its forms holds their input,
   * nor a refused form's input and messages (a 422 page: the fresh page would not have them).
   */
  function replaceable(part) {
    if (part.contains(document.activeElement) && document.activeElement !== document.body) return false;
    if (part.querySelector('.has-error, .field-error')) return false;
    const forms = part.tagName === 'FORM' ? [part] : Array.from(part.querySelectorAll('form'));
    return !forms.some(dirty);
  }

  function showBanner(newEntries, heldBack) {
    banner.textContent = '';
    const p = document.createElement('p');
    const what = newEntries === 1 ? '1 new entry' : newEntries > 1 ? newEntries + ' new entries' : null;
    p.textContent = heldBack
      ? 'This ticket changed' + (what ? ' — ' + what : '') + '. What you typed is kept. '
      : 'Updated' + (what ? ': ' + what : '') + '.';
    if (heldBack) {
      const a = document.createElement('a');
      a.href = pageUrl;
      a.textContent = 'Show the latest (your unsent input is lost)';
      p.appendChild(a);
    }
    banner.appendChild(p);
    banner.hidden = false;
  }

  const plain = (html) => html.replace(/ style=""/g, '');

  async function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    try {
      const res = await fetch(pageUrl, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      let heldBack = false;
      let newEntries = 0;
      for (const fresh of doc.querySelectorAll('[data-live]')) {
        const name = fresh.dataset.live;
        const old = document.querySelector('[data-live="' + name + '"]');
        if (!old) continue;
        // Compared as the server wrote them: the browser may add attributes of its own to the live
        // page (an empty style="" on inputs), which would make every unchanged part look changed.
        if (plain(old.outerHTML) === plain(fresh.outerHTML)) continue;
        if (!replaceable(old)) { heldBack = true; continue; }
        const copy = document.importNode(fresh, true);
        // An open "Edit details" stays open.
        if (old.tagName === 'DETAILS' && old.open) copy.open = true;
        old.replaceWith(copy);
      }
      for (const li of document.querySelectorAll('[data-entry]')) {
        if (!seen.has(li.dataset.entry)) { seen.add(li.dataset.entry); newEntries++; li.classList.add('entry-new'); }
      }
      // A form outside the swapped parts that the ticket no longer has (e.g. it was closed).
      for (const form of document.querySelectorAll('#worklog form[id]')) {
        if (!doc.getElementById(form.id)) heldBack = true;
      }
      showBanner(newEntries, heldBack);
      document.dispatchEvent(new CustomEvent('caseboard:updated'));
    } catch (err) {
      // Offline for a moment: the next change tries again.
    } finally {
      fetching = false;
      if (again) { again = false; schedule(); }
    }
  }
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250); // a change writes several rows: one fetch for them
  }

  // --- Presence --------------------------------------------------------------------------------
  let viewers = [];
  let receivedAt = 0;
  let expiry = 0;
  const WRITING = { REPLY: 'a reply to the customer', NOTE: 'an internal note' };
  function renderPresence() {
    clearTimeout(expiry);
    const now = Date.now();
    presence.textContent = '';
    if (viewers.length === 0) { presence.hidden = true; return; }
    const also = document.createElement('span');
    also.textContent = 'Also viewing: ' + viewers.map((v) => v.name).join(', ') + '.';
    presence.appendChild(also);
    let next = Infinity;
    for (const v of viewers) {
      const left = v.typing ? receivedAt + v.typingMs - now : 0;
      if (left <= 0) continue;
      next = Math.min(next, left);
      const w = document.createElement('span');
      w.className = 'writing';
      w.textContent = ' ' + v.name + ' is writing ' + WRITING[v.typing] + '…';
      presence.appendChild(w);
    }
    presence.hidden = false;
    if (next !== Infinity) expiry = setTimeout(renderPresence, next + 50);
  }

  // --- The stream ------------------------------------------------------------------------------
  const source = new EventSource(article.dataset.events);
  source.addEventListener('changed', schedule);
  source.addEventListener('presence', (e) => {
    try { viewers = JSON.parse(e.data).viewers || []; } catch (err) { viewers = []; }
    receivedAt = Date.now();
    renderPresence();
  });
  source.addEventListener('error', () => {
    // Closed for good (signed out, too many pages open): the page goes on without live updates.
    if (source.readyState === EventSource.CLOSED) { viewers = []; renderPresence(); }
  });
  window.addEventListener('pagehide', () => source.close());

  // --- Writing beats ---------------------------------------------------------------------------
  function beat(kind) {
    const body = new URLSearchParams({ _csrf: csrf, kind: kind });
    const url = '/tickets/' + reference + '/typing';
    if (kind === '' && navigator.sendBeacon) { navigator.sendBeacon(url, body); return; }
    fetch(url, { method: 'POST', body: body, credentials: 'same-origin' }).catch(() => undefined);
  }
  let lastBeat = 0;
  let lastKind = '';
  document.addEventListener('input', (e) => {
    const box = e.target;
    const kind = box.id === 'rp-body' ? 'REPLY' : box.id === 'w-body' ? 'NOTE' : null;
    if (!kind) return;
    if (!box.value.trim()) {
      if (lastKind) { lastKind = ''; lastBeat = 0; beat(''); }
      return;
    }
    if (kind !== lastKind || Date.now() - lastBeat > 4000) { lastKind = kind; lastBeat = Date.now(); beat(kind); }
  });
  document.addEventListener('submit', (e) => {
    if (lastKind && (e.target.id === 'reply-form' || e.target.id === 'add-worklog')) { lastKind = ''; beat(''); }
  });
})();

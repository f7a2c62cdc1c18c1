// Keyboard shortcuts for the queue and the ticket page (progressive enhancement: every action is
// also a link, a button or a form). Never while typing in a field, never with Ctrl, Alt or Meta.
//   queue:  j / k next / previous ticket · Enter or o open it · a take it (assign to me) · / search
//   ticket: r reply to the customer · n internal note
//   both:   ? this list (a dialog: Escape closes it, the focus goes back) · Esc leaves a text field
// Focus starts where the work is: the queue's first ticket (or the search when there is none);
// on a ticket, the reply when the customer is waiting for one, else the first action. Never when
// the address has an #anchor (after a form, the page lands there) or an alert is shown, and
// never scrolling.
(function () {
  const queue = document.querySelector('table.queue');
  const ticket = document.querySelector('article.ticket');
  if (!queue && !ticket && !document.getElementById('f-q')) return;

  const SHORTCUTS = queue || !ticket
    ? [['j', 'Next ticket'], ['k', 'Previous ticket'], ['Enter or o', 'Open the ticket'], ['a', 'Take the ticket (assign it to me)'], ['/', 'Search the queue'], ['?', 'Show these shortcuts'], ['Esc', 'Leave a text field']]
    : [['r', 'Write a reply to the customer'], ['n', 'Write an internal note'], ['?', 'Show these shortcuts'], ['Esc', 'Leave a text field, or close this list']];

  // A polite live region for what a shortcut did (or why it could not).
  const status = document.createElement('p');
  status.className = 'visually-hidden';
  status.setAttribute('role', 'status');
  document.body.appendChild(status);
  const say = (text) => { status.textContent = ''; setTimeout(() => { status.textContent = text; }, 50); };

  // --- Help dialog -----------------------------------------------------------------------------
  let dialog = null;
  let returnTo = null;
  function helpDialog() {
    if (dialog) return dialog;
    dialog = document.createElement('dialog');
    dialog.className = 'keys-help';
    dialog.setAttribute('aria-labelledby', 'keys-help-h');
    const h = document.createElement('h2');
    h.id = 'keys-help-h';
    h.textContent = 'Keyboard shortcuts';
    const dl = document.createElement('dl');
    for (const [key, what] of SHORTCUTS) {
      const dt = document.createElement('dt');
      for (const [i, k] of key.split(' or ').entries()) {
        if (i) dt.appendChild(document.createTextNode(' or '));
        const kbd = document.createElement('kbd');
        kbd.textContent = k;
        dt.appendChild(kbd);
      }
      const dd = document.createElement('dd');
      dd.textContent = what;
      dl.append(dt, dd);
    }
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = 'Shortcuts do nothing while you type in a field.';
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'secondary';
    close.textContent = 'Close';
    close.addEventListener('click', () => dialog.close());
    dialog.append(h, dl, p, close);
    // Escape closes a modal dialog by itself; either way the focus goes back where it was.
    dialog.addEventListener('close', () => { if (returnTo && returnTo.isConnected) returnTo.focus({ preventScroll: true }); });
    document.body.appendChild(dialog);
    return dialog;
  }
  function openHelp() {
    const d = helpDialog();
    if (d.open) return;
    returnTo = document.activeElement;
    d.showModal();
    d.querySelector('button').focus();
  }
  // A visible way in: a button beside the page's title or jump links.
  const place = ticket ? ticket.querySelector('.live-bar') : document.querySelector('.page-head');
  if (place) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'link keys-button';
    b.append('Keyboard shortcuts ');
    const kbd = document.createElement('kbd');
    kbd.textContent = '?';
    b.appendChild(kbd);
    b.addEventListener('click', openHelp);
    if (ticket) place.prepend(b);
    else place.appendChild(b);
  }

  // --- The queue -------------------------------------------------------------------------------
  const rows = () => (queue ? Array.from(queue.tBodies[0].rows) : []);
  const linkOf = (row) => row.cells[2] && row.cells[2].querySelector('a');
  function currentRow() {
    const active = document.activeElement;
    const row = active && active.closest ? active.closest('tbody tr') : null;
    return row && queue && queue.contains(row) ? row : queue && queue.querySelector('tbody tr.current');
  }
  function goTo(row) {
    if (!row) return;
    for (const r of queue.querySelectorAll('tbody tr.current')) r.classList.remove('current');
    row.classList.add('current');
    const link = linkOf(row);
    if (link) { link.focus({ preventScroll: true }); row.scrollIntoView({ block: 'nearest' }); }
  }
  function move(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(currentRow());
    goTo(all[at < 0 ? 0 : Math.min(all.length - 1, Math.max(0, at + step))]);
  }
  function take() {
    const row = currentRow();
    if (!row) return say('Choose a ticket first: j and k move between them.');
    const link = linkOf(row);
    const reference = link ? link.getAttribute('href').split('/').pop() : '';
    const form = document.getElementById('take-form');
    if (!row.dataset.take || !form) {
      const owner = row.cells[5] ? row.cells[5].textContent.trim() : '';
      return say(reference + (owner && owner !== '—' ? ' belongs to ' + owner + ': hand it on from its page.' : ' cannot be taken.'));
    }
    form.action = '/tickets/' + reference + '/take';
    form.elements.version.value = row.dataset.take;
    say('Taking ' + reference + '…');
    form.submit();
  }

  // --- The ticket ------------------------------------------------------------------------------
  function write(id, what) {
    const box = document.getElementById(id);
    if (!box) return say('This ticket takes no ' + what + ' (it is closed).');
    box.focus({ preventScroll: true });
    box.scrollIntoView({ block: 'center' });
  }

  // --- Keys ------------------------------------------------------------------------------------
  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.altKey || e.metaKey || e.isComposing) return;
    const el = e.target;
    if (typing(el)) {
      // Esc leaves a text field, so that the shortcuts work again (a search box keeps its own Esc).
      if (e.key === 'Escape' && el.tagName !== 'SELECT' && el.type !== 'search' && !(dialog && dialog.open)) el.blur();
      return;
    }
    if (dialog && dialog.open) return;
    const key = e.key;
    let handled = true;
    if (key === '?') openHelp();
    else if (queue && (key === 'j' || key === 'ArrowDown' && el.closest && el.closest('tbody'))) move(1);
    else if (queue && (key === 'k' || key === 'ArrowUp' && el.closest && el.closest('tbody'))) move(-1);
    else if (queue && key === 'o') { const row = currentRow(); const link = row && linkOf(row); if (link) link.click(); }
    else if (queue && key === 'Enter' && !(el.tagName === 'A' || el.tagName === 'BUTTON')) { const row = currentRow(); const link = row && linkOf(row); if (link) link.click(); else handled = false; }
    else if (queue && key === 'a') take();
    else if (key === '/' && document.getElementById('f-q')) { const q = document.getElementById('f-q'); q.focus(); q.select(); }
    else if (ticket && key === 'r') write('rp-body', 'reply');
    else if (ticket && key === 'n') write('w-body', 'note');
    else handled = false;
    if (handled) e.preventDefault();
  });
  // The focused row is highlighted however it was reached (Tab too).
  if (queue) {
    queue.addEventListener('focusin', (e) => {
      const row = e.target.closest('tbody tr');
      if (!row) return;
      for (const r of queue.querySelectorAll('tbody tr.current')) if (r !== row) r.classList.remove('current');
      row.classList.add('current');
    });
  }

  // --- Where the focus starts -------------------------------------------------------------------
  if (location.hash || document.querySelector('.alert[role=alert]')) return;
  if (document.activeElement && document.activeElement !== document.body) return;
  if (queue) {
    const first = rows()[0];
    if (first) {
      first.classList.add('current');
      const link = linkOf(first);
      if (link) link.focus({ preventScroll: true });
    }
  } else if (!ticket) {
    const q = document.getElementById('f-q');
    if (q) q.focus({ preventScroll: true });
  } else {
    const reply = ticket.dataset.focus === 'reply' && document.getElementById('rp-body');
    const action = document.querySelector('#actions form button, #actions form select, #actions form input:not([type=hidden]), #actions form textarea');
    const target = reply || action;
    if (target) { target.classList.add('keys-start'); target.focus({ preventScroll: true }); }
  }
})();

// Drop files onto a form's file field (progressive enhancement: the field works without this).
// Dropped files are added to what the input already holds, through a DataTransfer.
for (const field of document.querySelectorAll('[data-drop-files]')) {
  const input = field.querySelector('input[type=file]');
  const form = field.closest('form');
  if (!input || !form || typeof DataTransfer === 'undefined') continue;
  let depth = 0;
  form.addEventListener('dragenter', (e) => {
    if (!e.dataTransfer || !Array.from(e.dataTransfer.types).includes('Files')) return;
    depth++;
    field.classList.add('dragging');
  });
  form.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) field.classList.remove('dragging');
  });
  form.addEventListener('dragover', (e) => {
    if (e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files')) e.preventDefault();
  });
  form.addEventListener('drop', (e) => {
    if (!e.dataTransfer || e.dataTransfer.files.length === 0) return;
    e.preventDefault();
    depth = 0;
    field.classList.remove('dragging');
    const all = new DataTransfer();
    for (const f of input.files) all.items.add(f);
    for (const f of e.dataTransfer.files) all.items.add(f);
    input.files = all.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

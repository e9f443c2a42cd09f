// The details of a title on hover or keyboard focus: one floating card for the whole page,
// filled from the tile under the pointer or with focus. The card is a tooltip: it never takes
// focus and holds no controls (those are in the detail panel a click or Enter opens).

const HOVER_DELAY_MS = 300;
const GAP = 8;

export function createHoverCard(card, fill) {
  let timer = null;
  let current = null;

  function place(tile) {
    const box = tile.getBoundingClientRect();
    const width = card.offsetWidth;
    const height = card.offsetHeight;
    const left = Math.min(Math.max(GAP, box.left + box.width / 2 - width / 2), window.innerWidth - width - GAP);
    const below = box.bottom + GAP + height <= window.innerHeight;
    const top = below ? box.bottom + GAP : Math.max(GAP, box.top - GAP - height);
    card.style.left = `${Math.round(left)}px`;
    card.style.top = `${Math.round(top)}px`;
  }

  function show(tile) {
    clearTimeout(timer);
    if (!tile.isConnected || !tile.tileContext) return;
    if (current && current !== tile) current.removeAttribute('aria-describedby');
    current = tile;
    fill(card, tile.tileContext);
    card.hidden = false;
    place(tile);
    tile.setAttribute('aria-describedby', card.id);
  }

  function hide() {
    clearTimeout(timer);
    if (current) current.removeAttribute('aria-describedby');
    current = null;
    card.hidden = true;
  }

  function attach(tile) {
    tile.addEventListener('pointerenter', (event) => {
      if (event.pointerType === 'touch') return;
      clearTimeout(timer);
      timer = setTimeout(() => show(tile), HOVER_DELAY_MS);
    });
    tile.addEventListener('pointerleave', () => {
      if (document.activeElement !== tile) hide();
      else clearTimeout(timer);
    });
    tile.addEventListener('focus', () => {
      if (tile.matches(':focus-visible')) show(tile);
    });
    tile.addEventListener('blur', hide);
    tile.addEventListener('click', hide);
  }

  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') hide();
  });
  // A row scrolled under the card moves its tile: follow it, or let go when it leaves.
  document.addEventListener(
    'scroll',
    () => {
      if (current?.isConnected) place(current);
      else if (current) hide();
    },
    true,
  );

  return { attach, hide };
}

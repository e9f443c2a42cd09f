// DOM builders: they turn API data into elements and know nothing about fetching.

import { avatarColors, createArtwork } from './artwork.js';

// el('p', { class: 'x', dataset: { rowKey: 'a' } }, 'text', child) -> <p class="x" data-row-key="a">
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

const capitalize = (text) => (text ? text[0].toUpperCase() + text.slice(1) : '');

export function formatRuntime(minutes) {
  if (!Number.isFinite(minutes) || minutes <= 0) return '';
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

export function titleMeta(title) {
  return [capitalize(title.kind), title.maturity_rating].filter(Boolean).join(' · ');
}

// --- profiles ---------------------------------------------------------------------------------

function profileTile(member, onPick) {
  const { from, to } = avatarColors(`${member.id}:${member.name}`);
  const avatar = el(
    'span',
    { class: 'profile-avatar', 'aria-hidden': 'true', style: `--from: ${from}; --to: ${to}` },
    (member.name || '?').trim().charAt(0).toUpperCase() || '?',
  );
  const label = member.is_kids ? `${member.name} (kids profile)` : member.name;
  const button = el(
    'button',
    {
      type: 'button',
      class: member.is_kids ? 'profile-tile is-kids' : 'profile-tile',
      'aria-label': label,
      dataset: { memberId: String(member.id) },
    },
    avatar,
    el('span', { class: 'profile-name' }, member.name),
    member.is_kids ? el('span', { class: 'kids-badge' }, 'Kids') : null,
  );
  button.addEventListener('click', () => onPick(member));
  return el('li', {}, button);
}

export function renderProfiles(list, members, onPick) {
  if (members.length === 0) {
    list.replaceChildren(el('li', { class: 'empty-note' }, 'This account has no member profiles yet.'));
    return;
  }
  list.replaceChildren(...members.map((member) => profileTile(member, onPick)));
}

// --- tiles and rows ---------------------------------------------------------------------------

// placement: { rowKey, position } written to data-* so events and browser tests can read them.
export function createTile(title, placement, onOpen) {
  const meta = titleMeta(title);
  const tile = el(
    'button',
    {
      type: 'button',
      class: 'tile',
      'aria-label': meta ? `${title.name} (${meta})` : title.name,
      'aria-haspopup': 'dialog',
      dataset: {
        titleId: String(title.id),
        rowKey: placement.rowKey,
        position: String(placement.position),
      },
    },
    createArtwork(title),
    el(
      'span',
      { class: 'tile-caption' },
      el('span', { class: 'tile-name' }, title.name),
      el('span', { class: 'tile-meta' }, meta),
    ),
  );
  tile.addEventListener('click', () => onOpen(title, tile));
  return tile;
}

function scrollButton(strip, direction, rowTitle) {
  // Mouse helpers only: keyboard users reach every tile with Tab, which scrolls the strip.
  const button = el(
    'button',
    {
      type: 'button',
      class: `row-scroll row-scroll-${direction}`,
      tabindex: '-1',
      'aria-hidden': 'true',
      title: `Scroll ${rowTitle} ${direction}`,
    },
    direction === 'left' ? '‹' : '›',
  );
  button.addEventListener('click', () => {
    const distance = strip.clientWidth * 0.85;
    strip.scrollBy({ left: direction === 'left' ? -distance : distance, behavior: 'smooth' });
  });
  return button;
}

function createRow(row, index, onOpen) {
  const headingId = `row-title-${index}`;
  const tiles = row.items.map((item) =>
    createTile(item.title, { rowKey: row.key, position: item.position }, onOpen),
  );
  const strip = el('div', { class: 'row-strip', role: 'group', 'aria-labelledby': headingId }, ...tiles);
  const section = el(
    'section',
    { class: 'row', 'aria-labelledby': headingId, dataset: { rowKey: row.key } },
    el('h2', { class: 'row-title', id: headingId }, row.title),
    row.explanation ? el('p', { class: 'row-explanation' }, row.explanation) : null,
    el(
      'div',
      { class: 'row-viewport' },
      scrollButton(strip, 'left', row.title),
      strip,
      scrollButton(strip, 'right', row.title),
    ),
  );
  return { section, tiles };
}

// Returns every tile element, for the impression observer.
export function renderRows(container, rows, onOpen) {
  if (rows.length === 0) {
    container.replaceChildren(el('p', { class: 'empty-note' }, 'Nothing to show on this homepage yet.'));
    return [];
  }
  const built = rows.map((row, index) => createRow(row, index, onOpen));
  container.replaceChildren(...built.map(({ section }) => section));
  return built.flatMap(({ tiles }) => tiles);
}

export function renderStatus(bar, page) {
  const model = page.model_version;
  let text;
  if (page.fallback) text = `popularity fallback: ${page.fallback_reason || 'reason not given'}`;
  else if (model) text = `model v${model.id} (${model.kind})`;
  else text = 'no model';
  bar.classList.toggle('is-fallback', Boolean(page.fallback));
  bar.dataset.pageId = page.page_id;
  bar.replaceChildren(
    el('span', { class: 'status-model' }, text),
    el('span', { class: 'status-page' }, 'page ', el('code', { class: 'page-id' }, page.page_id)),
  );
}

// --- search -----------------------------------------------------------------------------------

export function renderSearchResults(grid, heading, query, results, onOpen) {
  heading.textContent =
    results.length === 0 ? `No titles match “${query}”` : `Results for “${query}” (${results.length})`;
  const tiles = results.map((title, position) => createTile(title, { rowKey: 'search', position }, onOpen));
  grid.replaceChildren(...tiles);
}

// --- detail panel -----------------------------------------------------------------------------

export function fillDetailPanel(panel, title) {
  const part = (selector) => panel.querySelector(selector);
  part('.detail-art').replaceChildren(createArtwork(title, 'detail-art-svg'));
  part('.detail-name').textContent = title.name;
  part('.detail-kind').textContent = capitalize(title.kind);
  part('.detail-maturity').textContent = title.maturity_rating || 'Not rated';
  part('.detail-runtime').textContent = formatRuntime(title.runtime_minutes) || 'Runtime unknown';
  part('.detail-year').textContent = title.release_date ? title.release_date.slice(0, 4) : '';
  part('.detail-genres').replaceChildren(
    ...(title.genres || []).map((genre) => el('li', { class: 'genre' }, genre)),
  );
  part('.detail-synopsis').textContent = title.synopsis || 'No synopsis available.';
  panel.dataset.titleId = String(title.id);
}

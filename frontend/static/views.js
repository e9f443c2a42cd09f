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
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
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

export function formatClock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export function titleMeta(title) {
  return [capitalize(title.kind), title.maturity_rating].filter(Boolean).join(' · ');
}

// "Explored" lights up when an explorer randomized the slot (propensity below 1).
export const isExplored = (item) => item.explored ?? (item.propensity ?? 1) < 1;

export function placementText(item, row) {
  if (!row) return '';
  const probability = (item.propensity ?? 1).toFixed(2);
  const explored = isExplored(item) ? 'explored' : 'not explored';
  return `Placed by ${row.policy} · ${explored} (probability ${probability})`;
}

export const matchText = (item) => (Number.isInteger(item?.match) ? `${item.match}% match` : '');

// --- profiles ---------------------------------------------------------------------------------

function avatar(member) {
  const { from, to } = avatarColors(`${member.id}:${member.name}`);
  return el(
    'span',
    { class: 'profile-avatar', 'aria-hidden': 'true', style: `--from: ${from}; --to: ${to}` },
    (member.name || '?').trim().charAt(0).toUpperCase() || '?',
  );
}

// handlers: { pick(member), edit(member), remove(member), add() }; managing shows edit/delete.
export function renderProfiles(list, members, { managing, canAdd, handlers }) {
  const items = members.map((member) => {
    const tile = el(
      'button',
      {
        type: 'button',
        class: member.is_kids ? 'profile-tile is-kids' : 'profile-tile',
        dataset: { memberId: String(member.id) },
      },
      avatar(member),
      managing ? el('span', { class: 'visually-hidden' }, 'Rename ') : null,
      el('span', { class: 'profile-name' }, member.name),
      member.is_kids ? el('span', { class: 'kids-badge' }, el('span', { class: 'visually-hidden' }, ', '), 'Kids profile') : null,
    );
    tile.addEventListener('click', () => (managing ? handlers.edit(member) : handlers.pick(member)));
    const tools = managing
      ? el(
          'span',
          { class: 'profile-manage' },
          actionButton('Rename', `Rename ${member.name}`, 'profile-rename', () => handlers.edit(member)),
          actionButton('Delete', `Delete ${member.name}`, 'profile-delete', () => handlers.remove(member)),
        )
      : null;
    return el('li', {}, tile, tools);
  });
  if (canAdd) {
    const add = el(
      'button',
      { type: 'button', class: 'profile-tile profile-add' },
      el('span', { class: 'profile-avatar is-add', 'aria-hidden': 'true' }, '+'),
      el('span', { class: 'profile-name' }, 'Add profile'),
    );
    add.addEventListener('click', handlers.add);
    items.push(el('li', {}, add));
  }
  if (items.length === 0) items.push(el('li', { class: 'empty-note' }, 'This account has no profiles yet.'));
  list.replaceChildren(...items);
}

function actionButton(text, label, className, onClick) {
  const button = el('button', { type: 'button', class: className, 'aria-label': label }, text);
  button.addEventListener('click', onClick);
  return button;
}

// --- tiles and rows ---------------------------------------------------------------------------

// The context a tile carries into the hover card, the detail panel and the events it posts.
// item: one homepage item (or a bare { title } from search); row: its row (or null).
export function createTile(item, row, placement, handlers) {
  const { title } = item;
  const meta = titleMeta(title);
  const progress = row?.key === 'continue_watching' && Number.isFinite(item.score) ? item.score : null;
  // No aria-label: the visible name, match and rating are the accessible name, so what a
  // screen reader says and what a sighted person reads are the same words.
  const tile = el(
    'button',
    {
      type: 'button',
      class: 'tile',
      'aria-haspopup': 'dialog',
      tabindex: placement.tabindex ?? null,
      dataset: {
        titleId: String(title.id),
        rowKey: placement.rowKey,
        position: String(placement.position),
        maturity: title.maturity_rating,
      },
    },
    createArtwork(title, 'tile-art', item.artwork ?? 0),
    el(
      'span',
      { class: 'tile-caption' },
      el('span', { class: 'tile-name' }, title.name),
      el('span', { class: 'tile-meta' }, [matchText(item), meta].filter(Boolean).join(' · ')),
    ),
    progress !== null
      ? el(
          'span',
          { class: 'tile-progress' },
          el('span', { class: 'tile-progress-fill', style: `width: ${Math.round(progress * 100)}%` }),
          el('span', { class: 'visually-hidden' }, `, ${Math.round(progress * 100)}% watched`),
        )
      : null,
  );
  tile.tileContext = { item, row, progress, query: placement.query ?? null, similarTo: placement.similarTo ?? null };
  tile.addEventListener('click', () => handlers.open(tile));
  handlers.hover?.(tile);
  return tile;
}

function scrollButton(strip, direction, rowTitle) {
  // Mouse helpers; keyboard users move along the row with the arrow keys (see rowKeys).
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

// A row is one tab stop (roving tabindex): Tab moves between rows, the arrow keys along one.
function rowKeys(strip) {
  strip.addEventListener('keydown', (event) => {
    const tiles = [...strip.querySelectorAll('.tile')];
    const index = tiles.indexOf(document.activeElement);
    if (index < 0) return;
    const visible = Math.max(1, Math.floor(strip.clientWidth / tiles[0].offsetWidth));
    const target = {
      ArrowRight: index + 1,
      ArrowLeft: index - 1,
      Home: 0,
      End: tiles.length - 1,
      PageDown: index + visible,
      PageUp: index - visible,
    }[event.key];
    if (target === undefined) return;
    event.preventDefault();
    focusTile(tiles, Math.min(tiles.length - 1, Math.max(0, target)));
  });
  strip.addEventListener('focusin', (event) => {
    if (!event.target.classList.contains('tile')) return;
    for (const tile of strip.querySelectorAll('.tile')) tile.tabIndex = tile === event.target ? 0 : -1;
  });
}

function focusTile(tiles, index) {
  for (const [i, tile] of tiles.entries()) tile.tabIndex = i === index ? 0 : -1;
  tiles[index].focus();
  tiles[index].scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

function createRow(row, index, handlers) {
  const headingId = `row-title-${index}`;
  const tiles = row.items.map((item, i) =>
    createTile(item, row, { rowKey: row.key, position: item.position, tabindex: i === 0 ? 0 : -1 }, handlers),
  );
  const strip = el(
    'div',
    { class: 'row-strip', role: 'group', 'aria-labelledby': headingId, 'aria-describedby': 'row-keys-hint' },
    ...tiles,
  );
  rowKeys(strip);
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
export function renderRows(container, rows, handlers) {
  if (rows.length === 0) {
    container.replaceChildren(el('p', { class: 'empty-note' }, 'Nothing to show on this homepage yet.'));
    return [];
  }
  const built = rows.map((row, index) => createRow(row, index, handlers));
  container.replaceChildren(...built.map(({ section }) => section));
  return built.flatMap(({ tiles }) => tiles);
}

// The billboard: one title, large, with its own actions. Returns the element that stands for
// its slot (for impressions and events), or null when the page has no billboard.
export function renderBillboard(section, row, handlers) {
  const item = row?.items?.[0];
  if (!item) {
    section.hidden = true;
    section.replaceChildren();
    return null;
  }
  const { title } = item;
  const slot = el(
    'div',
    {
      class: 'billboard-slot',
      dataset: { titleId: String(title.id), rowKey: row.key, position: String(item.position) },
    },
    createArtwork(title, 'billboard-art', item.artwork ?? 0),
  );
  slot.tileContext = { item, row, progress: null };
  const play = el('button', { type: 'button', class: 'billboard-play' }, '▶ Play');
  const more = el('button', { type: 'button', class: 'billboard-more', 'aria-haspopup': 'dialog' }, 'More info');
  play.addEventListener('click', () => handlers.play(slot));
  more.addEventListener('click', () => handlers.open(slot, more));
  section.replaceChildren(
    slot,
    el(
      'div',
      { class: 'billboard-body' },
      el('p', { class: 'billboard-kicker' }, row.title),
      el('h2', { class: 'billboard-name', id: 'billboard-name' }, title.name),
      el('p', { class: 'billboard-meta' }, [matchText(item), titleMeta(title), formatRuntime(title.runtime_minutes)].filter(Boolean).join(' · ')),
      el('p', { class: 'billboard-synopsis' }, title.synopsis || ''),
      el('div', { class: 'billboard-actions' }, play, more),
      el('p', { class: 'billboard-why' }, `${row.explanation} ${placementText(item, row)}.`),
    ),
  );
  section.hidden = false;
  return slot;
}

// Why the page looks as it does: which model serves and why the gate chose it, and whether
// anything on the page is personal yet.
export function renderStatus(bar, page, memberName) {
  const model = page.model_version;
  const parts = [];
  if (page.fallback) parts.push(`Served by the popularity fallback: ${page.fallback_reason || 'reason not given'}.`);
  else if (model) parts.push(`Served by model v${model.id} (${model.kind}).`);
  const gate = page.gate || [];
  if (model && gate.length > 0) {
    const metric = gate[0].metric;
    const scores = gate.map((d) => `${d.kind} v${d.version} ${d.value.toFixed(3)}`).join(', ');
    const serving = gate.find((d) => d.version === model.id);
    parts.push(`The promotion gate compared ${metric} on held-out plays: ${scores}${serving ? `; v${model.id}: ${serving.reason}` : ''}.`);
  }
  if (!page.personal) {
    parts.push(`Nothing on this page is personal yet: ${memberName} has no viewing history, thumbs or My List here, and the ranking is the same for everyone.`);
  }
  bar.classList.toggle('is-fallback', Boolean(page.fallback));
  bar.dataset.pageId = page.page_id;
  bar.replaceChildren(
    el('span', { class: 'status-model' }, parts.join(' ')),
    el('span', { class: 'status-page' }, 'page ', el('code', { class: 'page-id' }, page.page_id)),
  );
}

// --- search -----------------------------------------------------------------------------------

export function renderSearchResults(grid, heading, query, results, handlers) {
  heading.textContent =
    results.length === 0 ? `No titles match “${query}”` : `Results for “${query}” (${results.length})`;
  const tiles = results.map((title, position) =>
    createTile({ title }, null, { rowKey: 'search', position, query }, handlers),
  );
  grid.replaceChildren(...tiles);
}

// --- hover card and detail panel --------------------------------------------------------------

function detailLines(context) {
  const { item, row } = context;
  return {
    match: matchText(item),
    why: row
      ? row.explanation
      : context.query
        ? `Found by searching for “${context.query}”.`
        : context.similarTo
          ? `More like “${context.similarTo}”.`
          : '',
    placement: row ? placementText(item, row) : '',
  };
}

export function fillTitleCard(card, context) {
  const { title } = context.item;
  const lines = detailLines(context);
  card.replaceChildren(
    el('strong', { class: 'card-name' }, title.name),
    el('span', { class: 'card-meta' }, [lines.match, titleMeta(title), formatRuntime(title.runtime_minutes)].filter(Boolean).join(' · ')),
    el('span', { class: 'card-genres' }, (title.genres || []).join(', ')),
    el('span', { class: 'card-synopsis' }, title.synopsis || 'No synopsis available.'),
    lines.why ? el('span', { class: 'card-why' }, lines.why) : null,
    lines.placement ? el('span', { class: 'card-placement' }, lines.placement) : null,
  );
}

export function fillDetailPanel(panel, context) {
  const { title } = context.item;
  const lines = detailLines(context);
  const part = (selector) => panel.querySelector(selector);
  part('.detail-art').replaceChildren(createArtwork(title, 'detail-art-svg', context.item.artwork ?? 0));
  part('.detail-name').textContent = title.name;
  part('.detail-match').textContent = lines.match;
  part('.detail-kind').textContent = capitalize(title.kind);
  part('.detail-maturity').textContent = title.maturity_rating || 'Not rated';
  part('.detail-runtime').textContent = formatRuntime(title.runtime_minutes) || 'Runtime unknown';
  part('.detail-year').textContent = title.release_date ? title.release_date.slice(0, 4) : '';
  part('.detail-genres').replaceChildren(
    ...(title.genres || []).map((genre) => el('li', { class: 'genre' }, genre)),
  );
  part('.detail-synopsis').textContent = title.synopsis || 'No synopsis available.';
  part('.detail-why').textContent = lines.why;
  part('.detail-placement').textContent = lines.placement;
  panel.dataset.titleId = String(title.id);
}

// "More like this" in the detail panel: the titles nearest by the serving model's stored
// embeddings, or the genre/popularity fallback; the line under the heading says which.
export function renderSimilar(section, body, forTitle, handlers) {
  const source = section.querySelector('.detail-similar-source');
  const model = body.model_version;
  source.textContent =
    body.source === 'embeddings'
      ? `Nearest by the title embeddings of model v${model.id} (${model.kind}).`
      : `By shared genres, then popularity: ${body.reason}.`;
  source.dataset.source = body.source;
  const tiles = body.results.map(({ title, similarity }, position) => {
    const tile = createTile({ title }, null, { rowKey: 'more_like_this', position, similarTo: forTitle.name }, handlers);
    if (similarity !== null) tile.dataset.similarity = similarity.toFixed(3);
    return tile;
  });
  section.querySelector('.similar-grid').replaceChildren(...tiles);
  section.hidden = tiles.length === 0;
}

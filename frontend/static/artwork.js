// Generated cover art: an SVG whose colours and shapes depend only on the title's id and name
// and the artwork variant, so the same title always looks the same and nothing is downloaded.
// Variant 0 is the title's own artwork; other variants are alternatives an explorer may test.

const SVG_NS = 'http://www.w3.org/2000/svg';
const WIDTH = 160;
const HEIGHT = 90;

// FNV-1a (32 bit): tiny and stable across browsers.
export function hashString(text) {
  let hash = 0x811c9dc5;
  for (const char of text) {
    hash ^= char.codePointAt(0);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

// mulberry32: a seeded generator, so one hash always yields the same sequence of shapes.
function seededRandom(seed) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function svgElement(name, attributes = {}) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

const between = (random, low, high) => low + random() * (high - low);
const hsl = (hue, saturation, lightness, alpha = 1) =>
  `hsl(${Math.round(hue) % 360} ${saturation}% ${lightness}% / ${alpha})`;

function circles(random, hue) {
  return Array.from({ length: 3 + Math.floor(random() * 4) }, () =>
    svgElement('circle', {
      cx: between(random, 0, WIDTH).toFixed(1),
      cy: between(random, 0, HEIGHT).toFixed(1),
      r: between(random, 8, 38).toFixed(1),
      fill: hsl(hue + between(random, -40, 40), 80, 70, between(random, 0.15, 0.45).toFixed(2)),
    }),
  );
}

function rings(random, hue) {
  const cx = between(random, 20, WIDTH - 20).toFixed(1);
  const cy = between(random, 10, HEIGHT - 10).toFixed(1);
  return Array.from({ length: 3 + Math.floor(random() * 3) }, (_, index) =>
    svgElement('circle', {
      cx,
      cy,
      r: 10 + index * between(random, 9, 15),
      fill: 'none',
      stroke: hsl(hue + index * 15, 85, 75, 0.45),
      'stroke-width': between(random, 1.5, 5).toFixed(1),
    }),
  );
}

function stripes(random, hue) {
  const angle = Math.round(between(random, -60, 60));
  const group = svgElement('g', { transform: `rotate(${angle} ${WIDTH / 2} ${HEIGHT / 2})` });
  const count = 3 + Math.floor(random() * 4);
  for (let index = 0; index < count; index += 1) {
    group.append(
      svgElement('rect', {
        x: -WIDTH,
        y: (between(random, -HEIGHT, HEIGHT * 1.5)).toFixed(1),
        width: WIDTH * 3,
        height: between(random, 4, 18).toFixed(1),
        fill: hsl(hue + between(random, -30, 30), 90, 80, between(random, 0.12, 0.35).toFixed(2)),
      }),
    );
  }
  return [group];
}

function triangles(random, hue) {
  return Array.from({ length: 2 + Math.floor(random() * 4) }, () => {
    const x = between(random, 0, WIDTH);
    const y = between(random, 0, HEIGHT);
    const size = between(random, 18, 55);
    const points = [
      [x, y - size / 2],
      [x + size / 2, y + size / 2],
      [x - size / 2, y + size / 2],
    ];
    return svgElement('polygon', {
      points: points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' '),
      fill: hsl(hue + between(random, -50, 50), 85, 72, between(random, 0.18, 0.4).toFixed(2)),
    });
  });
}

function waves(random, hue) {
  return Array.from({ length: 2 + Math.floor(random() * 3) }, (_, index) => {
    const base = between(random, 20, HEIGHT - 10);
    const amplitude = between(random, 6, 18);
    const path = `M0 ${base.toFixed(1)} C ${WIDTH / 3} ${(base - amplitude).toFixed(1)}, ${
      (2 * WIDTH) / 3
    } ${(base + amplitude).toFixed(1)}, ${WIDTH} ${base.toFixed(1)} L ${WIDTH} ${HEIGHT} L 0 ${HEIGHT} Z`;
    return svgElement('path', { d: path, fill: hsl(hue + index * 20, 70, 60, 0.22) });
  });
}

const MOTIFS = [circles, rings, stripes, triangles, waves];

let uniqueCounter = 0;

// Returns a decorative <svg> (aria-hidden: the tile around it carries the accessible name).
export function createArtwork(title, className = 'tile-art', variant = 0) {
  const seed = hashString(variant ? `${title.id}:${title.name}:${variant}` : `${title.id}:${title.name}`);
  const random = seededRandom(seed);
  const hue = seed % 360;
  const secondHue = hue + between(random, 40, 160);
  const angle = Math.floor(random() * 4);
  // Ids must be unique in the document even when one title is drawn twice (row + panel).
  uniqueCounter += 1;
  const gradientId = `art-gradient-${seed.toString(36)}-${uniqueCounter}`;

  const svg = svgElement('svg', {
    class: className,
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    preserveAspectRatio: 'xMidYMid slice',
    'aria-hidden': 'true',
    focusable: 'false',
  });
  const gradient = svgElement('linearGradient', {
    id: gradientId,
    x1: angle & 1 ? 1 : 0,
    y1: 0,
    x2: angle & 1 ? 0 : 1,
    y2: angle & 2 ? 0 : 1,
  });
  gradient.append(
    svgElement('stop', { offset: 0, 'stop-color': hsl(hue, 65, 38) }),
    svgElement('stop', { offset: 1, 'stop-color': hsl(secondHue, 70, 16) }),
  );
  const defs = svgElement('defs');
  defs.append(gradient);
  svg.append(defs, svgElement('rect', { width: WIDTH, height: HEIGHT, fill: `url(#${gradientId})` }));

  const motif = MOTIFS[seed % MOTIFS.length];
  svg.append(...motif(random, secondHue));
  return svg;
}

// Two colours for avatars (member profiles), from the same hash.
export function avatarColors(text) {
  const hue = hashString(text) % 360;
  return { from: hsl(hue, 70, 55), to: hsl(hue + 50, 75, 30) };
}

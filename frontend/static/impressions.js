// Reports which tiles of a homepage were actually on screen: at most once per tile per page.
// The first look at a freshly rendered page arrives as one IntersectionObserver callback, so
// it becomes one batch; tiles scrolled into view later follow in small batches of their own.

const VISIBLE_RATIO = 0.5;
const BATCH_DELAY_MS = 300;
const MAX_BATCH = 500; // the API accepts 1 to 500 events per batch

// tiles: the rendered tile elements; toEvent(tile) builds an impression_seen event;
// send(events) posts them. Returns stop(), which disconnects and (by default) sends what
// is still pending.
export function watchImpressions(tiles, toEvent, send) {
  const seen = new WeakSet();
  let pending = [];
  let timer = null;

  const flush = () => {
    clearTimeout(timer);
    timer = null;
    const batch = pending;
    pending = [];
    for (let start = 0; start < batch.length; start += MAX_BATCH) {
      send(batch.slice(start, start + MAX_BATCH));
    }
  };

  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting || entry.intersectionRatio < VISIBLE_RATIO) continue;
        if (seen.has(entry.target)) continue;
        seen.add(entry.target);
        observer.unobserve(entry.target);
        pending.push(toEvent(entry.target));
      }
      if (pending.length > 0 && timer === null) timer = setTimeout(flush, BATCH_DELAY_MS);
    },
    { threshold: [VISIBLE_RATIO] },
  );
  tiles.forEach((tile) => observer.observe(tile));

  return function stop({ sendPending = true } = {}) {
    observer.disconnect();
    if (sendPending && pending.length > 0) flush();
    clearTimeout(timer);
    pending = [];
  };
}

// The player: it simulates watching a title (SPEED times faster than real time) with pause
// and stop, and hands the watched time to `record` when playback stops or ends. The event it
// records carries one id for the whole session, so a retry after a failed post is stored once.

import { el, formatClock } from './views.js';

export const SPEED = 60; // simulated seconds per real second: a minute of the title a second
const TICK_MS = 200;

// record(session) -> Promise (posts the play); done(session) runs after it succeeded.
export function createPlayer(dialog, { record, done }) {
  const part = (selector) => dialog.querySelector(selector);
  const ui = {
    name: part('.player-name'),
    art: part('.player-art'),
    bar: part('.player-progress'),
    fill: part('.player-progress-fill'),
    position: part('.player-position'),
    runtime: part('.player-runtime'),
    pause: part('.player-pause'),
    stop: part('.player-stop'),
    status: part('.player-status'),
  };
  let session = null;
  let timer = null;

  function render() {
    const fraction = session.runtime > 0 ? session.position / session.runtime : 0;
    const percent = Math.round(Math.min(1, fraction) * 100);
    ui.fill.style.width = `${percent}%`;
    ui.bar.setAttribute('aria-valuenow', String(percent));
    ui.bar.setAttribute('aria-valuetext', `${formatClock(session.position)} of ${formatClock(session.runtime)}`);
    ui.position.textContent = formatClock(session.position);
    ui.pause.textContent = session.playing ? 'Pause' : 'Resume';
    dialog.dataset.state = session.finished ? 'stopped' : session.playing ? 'playing' : 'paused';
  }

  function tick() {
    if (!session?.playing) return;
    const now = performance.now();
    session.position = Math.min(session.runtime, session.position + ((now - session.last) / 1000) * SPEED);
    session.last = now;
    if (session.position >= session.runtime) finish();
    else render();
  }

  function setStatus(text, retry = null) {
    ui.status.replaceChildren(text);
    if (retry) {
      const button = el('button', { type: 'button', class: 'player-retry' }, 'Retry');
      button.addEventListener('click', retry);
      ui.status.append(' ', button);
    }
  }

  async function save() {
    const current = session;
    setStatus('Saving what you watched…');
    ui.pause.disabled = ui.stop.disabled = true;
    try {
      await record(current);
    } catch (error) {
      if (session === current) setStatus(error.message || 'Could not save what you watched.', save);
      return;
    }
    if (session !== current) return;
    setStatus(`Recorded: ${formatClock(current.position)} watched.`);
    done(current);
  }

  function finish() {
    if (!session || session.finished) return;
    clearInterval(timer);
    session.playing = false;
    session.finished = true;
    render();
    save();
  }

  // context: the tile's { item, row, query, progress }; a title started before resumes.
  function open(context, { eventId, resumeFrom = 0 }) {
    const { title } = context.item;
    const runtime = Math.max(60, (title.runtime_minutes || 0) * 60);
    session = {
      context,
      eventId,
      runtime,
      position: Math.min(runtime * 0.98, Math.max(0, resumeFrom) * runtime),
      playing: true,
      finished: false,
      last: performance.now(),
    };
    ui.name.textContent = title.name;
    ui.runtime.textContent = formatClock(runtime);
    ui.art.replaceChildren(context.art);
    ui.pause.disabled = ui.stop.disabled = false;
    setStatus('');
    render();
    clearInterval(timer);
    timer = setInterval(tick, TICK_MS);
    if (!dialog.open) dialog.showModal();
    ui.pause.focus();
  }

  ui.pause.addEventListener('click', () => {
    if (!session || session.finished) return;
    tick();
    session.playing = !session.playing;
    session.last = performance.now();
    render();
  });
  ui.stop.addEventListener('click', () => {
    tick();
    finish();
  });
  // Escape stops playback like the Stop button (and what was watched is still recorded).
  dialog.addEventListener('cancel', (event) => {
    if (session && !session.finished) {
      event.preventDefault();
      tick();
      finish();
    }
  });
  dialog.addEventListener('close', () => {
    clearInterval(timer);
    session = null;
  });

  return { open, close: () => dialog.open && dialog.close(), get session() { return session; } };
}

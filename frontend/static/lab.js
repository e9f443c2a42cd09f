// The lab (staff only): model versions, loop health, click-through and the explorer as charts,
// and the levers: simulated traffic, a retrain now and an explorer update now. Every number comes from the staff-only lab API
// (docs/lab.md); the charts are Chart.js, served from this server.

import { createClient } from './api.js';
import * as storage from './storage.js';
import { el } from './views.js';

const $ = (selector) => document.querySelector(selector);
const TRAFFIC_POLL_MS = 2000;
const RETRAIN_POLL_MS = 1500;
const UPDATE_POLL_MS = 1000;
const USES = { slots: 'Slots', row_order: 'Row order', artwork: 'Artwork' };
const REFRESH_MS = 15000;
const ACTIVE = new Set(['queued', 'running', 'stopping']);

const ui = {
  views: { loading: $('#lab-loading'), signin: $('#lab-signin'), denied: $('#lab-denied'), lab: $('#lab') },
  accountName: $('.account-name'),
  signOut: $('.signout-button'),
  errorBanner: $('.error-banner'),
  errorText: $('.error-banner .error-message'),
  errorRetry: $('.error-banner .error-retry'),
  errorDismiss: $('.error-banner .error-dismiss'),
  signinForm: $('.signin-form'),
  signinError: $('.signin-error'),
  servingText: $('.serving-text'),
  experimentsText: $('.experiments-text'),
  modelsBody: $('.models-table tbody'),
  retrainButton: $('.retrain-button'),
  retrainProgress: $('.retrain-progress'),
  retrainFill: $('.retrain-progress-fill'),
  retrainStatus: $('.retrain-status'),
  retrainDecisions: $('.retrain-decisions'),
  trafficForm: $('.traffic-form'),
  trafficStart: $('.traffic-start'),
  trafficStop: $('.traffic-stop'),
  trafficStatus: $('.traffic-status'),
  trafficLog: $('.traffic-log'),
  window: $('.health-window'),
  neighboursForm: $('.neighbours-form'),
  neighboursStatus: $('.neighbours-status'),
  neighboursTable: $('.neighbours-table'),
  explorerBody: $('.explorer-table tbody'),
  explorerRuns: $('.explorer-runs tbody'),
  explorerUpdate: $('.explorer-update'),
  explorerUpdateStatus: $('.explorer-update-status'),
};

const state = { token: storage.loadToken(), charts: {}, traffic: null, trafficTimer: null, refreshTimer: null };
const client = createClient(() => state.token);

// --- messages ---------------------------------------------------------------------------------

function showView(name) {
  for (const [key, view] of Object.entries(ui.views)) view.hidden = key !== name;
  ui.signOut.hidden = state.token === null;
}

function showError(message, retry = null) {
  ui.errorText.textContent = message;
  ui.errorRetry.hidden = retry === null;
  ui.errorRetry.onclick = retry
    ? () => {
        clearError();
        retry();
      }
    : null;
  ui.errorBanner.hidden = false;
}

function clearError() {
  ui.errorBanner.hidden = true;
  ui.errorRetry.onclick = null;
}

function handleError(error, retry) {
  if (error.status === 401) {
    signOut('Your session has ended. Please sign in again.');
    return;
  }
  if (error.status === 403) {
    deny('This account is not staff, so the lab API refuses it (403).');
    return;
  }
  showError(error.message || 'Something went wrong.', retry);
}

// --- sign in, and the staff check -------------------------------------------------------------

function signOut(message = '') {
  clearInterval(state.refreshTimer);
  clearTimeout(state.trafficTimer);
  state.token = null;
  storage.saveToken(null);
  ui.accountName.hidden = true;
  ui.signinError.textContent = message;
  ui.signinError.hidden = !message;
  showView('signin');
  ui.signinForm.elements.username.focus();
}

async function signIn(event) {
  event.preventDefault();
  const form = ui.signinForm;
  ui.signinError.hidden = true;
  try {
    const { token } = await client.login(form.elements.username.value.trim(), form.elements.password.value);
    state.token = token;
    storage.saveToken(token);
    form.reset();
    await start();
  } catch (error) {
    ui.signinError.textContent = error.message;
    ui.signinError.hidden = false;
  }
}

function deny(text) {
  clearInterval(state.refreshTimer);
  $('.denied-text').textContent = text;
  showView('denied');
}

async function start() {
  if (!state.token) return signOut();
  showView('loading');
  let me;
  try {
    me = await client.me();
  } catch (error) {
    return handleError(error, start);
  }
  ui.accountName.textContent = me.username;
  ui.accountName.hidden = false;
  if (!me.is_staff) {
    return deny(`You are signed in as ${me.username}, which is not a staff account. Sign in as staff to watch and steer the loop.`);
  }
  if (typeof window.Chart !== 'function') {
    showError('The charting library did not load: run `make npm` (it installs chart.js from frontend/package-lock.json).');
    return;
  }
  setUpCharts();
  showView('lab');
  await refreshAll();
  clearInterval(state.refreshTimer);
  state.refreshTimer = setInterval(refreshAll, REFRESH_MS);
}

async function refreshAll() {
  await Promise.all([loadModels(), loadHealth(), loadClicks(), loadExplorer(), loadTraffic()]);
}

// --- charts -----------------------------------------------------------------------------------

const COLORS = ['#ff6b70', '#46c37b', '#5aa9ff', '#f0b429', '#c792ea', '#4dd0e1', '#ff9f1c'];

function setUpCharts() {
  const { Chart } = window;
  Chart.defaults.color = '#c9c9d4';
  Chart.defaults.borderColor = 'rgb(255 255 255 / 0.1)';
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  const line = (id, title, extra = {}) =>
    new Chart($(id), {
      type: 'line',
      data: { labels: [], datasets: [] },
      options: {
        plugins: { title: { display: true, text: title } },
        scales: { y: { beginAtZero: true, ...extra.y } },
        spanGaps: false,
        ...extra.options,
      },
    });
  state.charts = {
    models: new Chart($('#chart-models'), {
      data: { labels: [], datasets: [] },
      options: { plugins: { title: { display: true, text: 'Offline metrics per version (gate holdout)' } }, scales: { y: { beginAtZero: true } } },
    }),
    visits: new Chart($('#chart-visits'), {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: { plugins: { title: { display: true, text: 'Visits and members' } }, scales: { y: { beginAtZero: true } } },
    }),
    coverage: line('#chart-coverage', 'Catalogue coverage', { y: { max: 1 } }),
    gini: line('#chart-gini', 'Exposure Gini', { y: { max: 1 } }),
    homogenization: line('#chart-homogenization', 'Homogenization (mean Jaccard)', { y: { max: 1 } }),
    exploration: line('#chart-exploration', 'Exploration rate', { y: { max: 1 } }),
    plays: line('#chart-plays', 'Plays per visit'),
    minutes: line('#chart-minutes', 'Minutes watched per member'),
    positions: line('#chart-positions', 'Click-through by position (position bias)'),
    rows: new Chart($('#chart-rows'), {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: { indexAxis: 'y', plugins: { title: { display: true, text: 'Click-through by row' } }, scales: { x: { beginAtZero: true } } },
    }),
    exploreShare: line('#chart-explore-share', 'Explored share', { y: { max: 1 } }),
    explorePropensity: line('#chart-explore-propensity', 'Mean logged propensity of explored choices', { y: { max: 1 } }),
    exploreCtr: line('#chart-explore-ctr', 'Plays per impression: explored vs deterministic'),
    artworkShare: line('#chart-artwork-share', 'Artwork: share of each variant shown', { y: { max: 1 } }),
    artworkRate: line('#chart-artwork-rate', 'Artwork: plays per impression of each variant'),
  };
}

function draw(chart, labels, datasets) {
  chart.data.labels = labels;
  chart.data.datasets = datasets.map((dataset, index) => ({
    borderColor: COLORS[index % COLORS.length],
    backgroundColor: COLORS[index % COLORS.length],
    pointRadius: 2,
    ...dataset,
  }));
  chart.update();
}

function bucketLabel(iso, bucket) {
  const date = new Date(iso);
  if (bucket === 'day') return date.toISOString().slice(5, 10);
  return date.toISOString().slice(11, 16);
}

const fixed = (value, digits = 3) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const when = (iso) => (iso ? new Date(iso).toISOString().slice(0, 16).replace('T', ' ') : '');

// --- models and serving -----------------------------------------------------------------------

async function loadModels() {
  try {
    showModels(await client.labModels());
  } catch (error) {
    handleError(error, loadModels);
  }
}

function showModels(data) {
  const versions = data.versions;
  const serving = versions.find((v) => v.id === data.production);
  ui.servingText.textContent = serving
    ? `Model v${serving.id} (${serving.kind}) serves every member since ${when(serving.served_from)} UTC (the gate promoted it: ${serving.decision?.reason ?? 'no reason recorded'}).`
    : 'No model in production yet: pages are served from popularity.';
  ui.experimentsText.textContent = data.experiments.note;
  const labels = versions.map((v) => `v${v.id} ${v.kind}`);
  const metric = (name) => versions.map((v) => v.metrics?.[name] ?? null);
  const datasets = [
    { type: 'line', label: 'NDCG@10', data: metric('ndcg@10') },
    { type: 'line', label: 'Recall@50', data: metric('recall@50') },
    { type: 'line', label: 'Coverage@10', data: metric('coverage@10') },
    {
      type: 'line',
      label: 'In production',
      data: versions.map((v) => (v.served_from ? (v.metrics?.['ndcg@10'] ?? null) : null)),
      showLine: false,
      pointRadius: 7,
      pointStyle: 'rectRot',
    },
  ];
  const ope = versions.map((v) => firstEstimate(v.ope));
  if (ope.some(Boolean)) {
    datasets.push({
      type: 'bar',
      label: 'Off-policy estimate (interval)',
      data: ope.map((e) => (e && Number.isFinite(e.low) ? [e.low, e.high] : null)),
    });
  }
  draw(state.charts.models, labels, datasets);
  ui.modelsBody.replaceChildren(
    ...[...versions].reverse().map((v) => {
      const estimate = firstEstimate(v.ope);
      return el(
        'tr',
        { class: v.is_production ? 'is-production' : null },
        el('th', { scope: 'row' }, `v${v.id}${v.is_production ? ' (serving)' : ''}`),
        el('td', {}, v.kind),
        el('td', {}, when(v.created_at)),
        el('td', {}, fixed(v.metrics?.['ndcg@10'])),
        el('td', {}, fixed(v.metrics?.['recall@50'])),
        el('td', {}, fixed(v.metrics?.['coverage@10'])),
        el('td', {}, estimate ? `${estimate.name} ${fixed(estimate.value)} [${fixed(estimate.low)}, ${fixed(estimate.high)}]` : '–'),
        el('td', {}, v.decision ? `${v.decision.promoted ? 'promoted' : 'kept out'}: ${v.decision.reason}` : '–'),
        el('td', {}, v.served_from ? `${when(v.served_from)} – ${v.served_until ? when(v.served_until) : 'now'}` : 'never'),
      );
    }),
  );
}

// An OPE record is {estimator: {value, low, high}} (docs/lab.md); show the first estimator.
function firstEstimate(ope) {
  if (!ope || typeof ope !== 'object') return null;
  const [name, e] = Object.entries(ope)[0] ?? [];
  if (!e || typeof e !== 'object') return null;
  return { name, value: e.value, low: e.low ?? e.ci_low, high: e.high ?? e.ci_high };
}

// --- loop health and click-through ------------------------------------------------------------

async function loadHealth() {
  try {
    const data = await client.labHealth(ui.window.value);
    const labels = data.points.map((p) => bucketLabel(p.start, data.bucket));
    const series = (name, label) => [{ label, data: data.points.map((p) => p[name]) }];
    draw(state.charts.visits, labels, [
      { label: 'Visits (pages served)', data: data.points.map((p) => p.pages) },
      { label: 'Members', data: data.points.map((p) => p.members) },
    ]);
    draw(state.charts.coverage, labels, series('coverage', 'Coverage'));
    draw(state.charts.gini, labels, series('exposure_gini', 'Gini'));
    draw(state.charts.homogenization, labels, series('homogenization', 'Mean Jaccard'));
    draw(state.charts.exploration, labels, series('exploration_rate', 'Exploration rate'));
    draw(state.charts.plays, labels, series('plays_per_visit', 'Plays per visit'));
    draw(state.charts.minutes, labels, series('minutes_per_member', 'Minutes per member'));
  } catch (error) {
    handleError(error, loadHealth);
  }
}

async function loadClicks() {
  try {
    const data = await client.labClicks(ui.window.value);
    draw(
      state.charts.positions,
      data.by_position.map((c) => `#${Number(c.key) + 1}`),
      [{ label: 'Plays per impression', data: data.by_position.map((c) => c.ctr) }],
    );
    draw(
      state.charts.rows,
      data.by_row.map((c) => c.key),
      [{ label: 'Plays per impression', data: data.by_row.map((c) => c.ctr) }],
    );
  } catch (error) {
    handleError(error, loadClicks);
  }
}

// --- the explorer -----------------------------------------------------------------------------

async function loadExplorer() {
  try {
    showExplorer(await client.labExplorer(ui.window.value));
  } catch (error) {
    handleError(error, loadExplorer);
  }
}

function configText(config) {
  if (!config.policy) return 'never configured: served deterministically';
  const parts = [`${config.policy}${config.enabled ? '' : ' (off)'}`, `rate ${config.rate}`, `floor ${config.floor}`];
  if (config.use === 'slots') parts.push(`${config.positions} positions`);
  const params = Object.entries(config.params ?? {});
  if (params.length) parts.push(params.map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', '));
  return parts.join(' · ');
}

function countsText(counts) {
  if (!counts || counts.counted === undefined) return '–';
  const learned = counts.version ? ` → v${counts.version} (${counts.rewarded} rewarded)` : '';
  return `${counts.counted} counted${learned}`;
}

function showExplorer(data) {
  ui.explorerBody.replaceChildren(
    ...data.uses.map((u) => {
      const last = u.runs.find((r) => r.counts && r.counts.counted !== undefined) ?? u.runs[0];
      return el(
        'tr',
        {},
        el('th', { scope: 'row' }, USES[u.use] ?? u.use),
        el('td', {}, configText(u.config)),
        el('td', {}, u.state ? `v${u.state.version} (${u.state.policy}, ${u.state.counted} learned from), made ${when(u.state.created_at)} UTC` : 'none yet (a fresh policy serves)'),
        el('td', {}, last ? `run ${last.run_id} ${last.status}: ${countsText(last.counts)}` : 'no update yet'),
      );
    }),
  );
  const runs = data.uses[0]?.runs ?? [];
  const byUse = Object.fromEntries(data.uses.map((u) => [u.use, new Map(u.runs.map((r) => [r.run_id, r.counts]))]));
  ui.explorerRuns.replaceChildren(
    ...runs.map((r) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, `${r.run_id} (${r.trigger})`),
        el('td', {}, r.status),
        el('td', {}, when(r.requested_at)),
        ...Object.keys(USES).map((use) => el('td', {}, countsText(byUse[use]?.get(r.run_id)))),
        el('td', {}, r.error || '–'),
      ),
    ),
  );
  const labels = data.slots.map((p) => bucketLabel(p.start, data.bucket));
  draw(state.charts.exploreShare, labels, [
    { label: 'Explored slots', data: data.slots.map((p) => p.explored_share) },
    { label: 'Pages with an explored row order', data: data.row_order.map((p) => p.explored_share) },
  ]);
  draw(state.charts.explorePropensity, labels, [
    { label: 'Explored slots', data: data.slots.map((p) => p.explored_mean_propensity) },
    { label: 'Explored row orders', data: data.row_order.map((p) => p.mean_probability) },
  ]);
  draw(state.charts.exploreCtr, labels, [
    { label: 'Explored', data: data.slots.map((p) => p.explored_ctr) },
    { label: 'Deterministic', data: data.slots.map((p) => p.deterministic_ctr) },
  ]);
  const variants = data.artwork[0]?.variants.map((v) => v.variant) ?? [];
  const variantSeries = (field) =>
    variants.map((variant, i) => ({
      label: variant === 0 ? 'Variant 0 (own)' : `Variant ${variant}`,
      data: data.artwork.map((p) => p.variants[i][field]),
    }));
  draw(state.charts.artworkShare, labels, variantSeries('share'));
  draw(state.charts.artworkRate, labels, variantSeries('play_rate'));
}

async function updateExplorer() {
  ui.explorerUpdate.disabled = true;
  ui.explorerUpdateStatus.textContent = 'Queueing an update…';
  let run;
  try {
    run = await client.explorationUpdate();
  } catch (error) {
    ui.explorerUpdate.disabled = false;
    // 503 with a run: the broker is down and the run is recorded as failed, with why.
    if (error.status === 503 && error.body?.run_id) return showUpdate(error.body);
    ui.explorerUpdateStatus.textContent = '';
    return handleError(error, updateExplorer);
  }
  pollUpdate(run.run_id);
}

async function pollUpdate(runId) {
  let run;
  try {
    run = await client.explorationUpdateRun(runId);
  } catch (error) {
    ui.explorerUpdate.disabled = false;
    return handleError(error, () => pollUpdate(runId));
  }
  if (run.status === 'queued' || run.status === 'running') {
    ui.explorerUpdateStatus.textContent = `Update ${runId} ${run.status}…`;
    setTimeout(() => pollUpdate(runId), UPDATE_POLL_MS);
    return;
  }
  showUpdate(run);
  loadExplorer();
}

function showUpdate(run) {
  ui.explorerUpdate.disabled = false;
  ui.explorerUpdateStatus.dataset.status = run.status;
  if (run.status === 'failed') {
    ui.explorerUpdateStatus.textContent = `Update ${run.run_id} failed: ${run.error}`;
    return;
  }
  const parts = Object.entries(run.counts).map(([use, counts]) => `${USES[use] ?? use} ${countsText(counts)}`);
  ui.explorerUpdateStatus.textContent = `Update ${run.run_id} succeeded: ${parts.join('; ') || 'no use is configured'}.`;
}

// --- simulated traffic ------------------------------------------------------------------------

async function loadTraffic() {
  try {
    const runs = await client.labTraffic();
    showTraffic(runs[0] ?? null);
  } catch (error) {
    handleError(error, loadTraffic);
  }
}

function showTraffic(run) {
  state.traffic = run;
  const active = run !== null && ACTIVE.has(run.status) && !run.stale;
  ui.trafficStart.disabled = active;
  ui.trafficStop.disabled = !active;
  ui.trafficForm.dataset.status = run ? run.status : 'none';
  if (!run) {
    ui.trafficStatus.textContent = 'No traffic run yet.';
    ui.trafficLog.hidden = true;
    return;
  }
  const parts = [`Run ${run.id}: ${run.status}${run.stale ? ' (its worker stopped reporting)' : ''}`];
  if (run.status === 'queued') parts.push('waiting for the traffic worker (celery -Q homepage-traffic)');
  parts.push(`${run.members} members, target ${run.rate} visits/s`);
  parts.push(`${run.visits} visits, ${run.plays} plays`);
  if (run.measured_rate !== null) parts.push(`${fixed(run.measured_rate, 2)} visits/s measured after the first round's catch-up`);
  if (run.activity_scale !== null) parts.push(`activity scale ${fixed(run.activity_scale, 1)}${run.restarts ? ` after ${run.restarts} correction(s)` : ''}`);
  if (run.error) parts.push(run.error);
  ui.trafficStatus.textContent = parts.join(' · ');
  ui.trafficLog.textContent = run.log_tail;
  ui.trafficLog.hidden = !run.log_tail;
  clearTimeout(state.trafficTimer);
  if (active) {
    state.trafficTimer = setTimeout(async () => {
      await loadTraffic();
      if (ui.window.value === '1h') await Promise.all([loadHealth(), loadClicks(), loadExplorer()]);
    }, TRAFFIC_POLL_MS);
  }
}

async function startTraffic(event) {
  event.preventDefault();
  const form = ui.trafficForm.elements;
  ui.trafficStart.disabled = true;
  try {
    const run = await client.labStartTraffic(
      Number(form.members.value),
      Number(form.rate.value),
      Number(form.duration_s.value),
    );
    showTraffic(run);
  } catch (error) {
    ui.trafficStart.disabled = false;
    if (error.body && !error.body.detail && error.status === 503) showTraffic(error.body);
    handleError(error, () => ui.trafficForm.requestSubmit());
  }
}

async function stopTraffic() {
  if (!state.traffic) return;
  ui.trafficStop.disabled = true;
  try {
    showTraffic(await client.labStopTraffic(state.traffic.id));
  } catch (error) {
    ui.trafficStop.disabled = false;
    handleError(error, stopTraffic);
  }
}

// --- retrain now ------------------------------------------------------------------------------

async function retrain() {
  ui.retrainButton.disabled = true;
  ui.retrainDecisions.replaceChildren();
  ui.retrainStatus.textContent = 'Queueing a retrain…';
  try {
    const run = await client.retrain();
    pollRetrain(run.run_id);
  } catch (error) {
    ui.retrainButton.disabled = false;
    ui.retrainStatus.textContent = '';
    handleError(error, retrain);
  }
}

async function pollRetrain(runId) {
  let progress;
  try {
    progress = await client.labRetrain(runId);
  } catch (error) {
    ui.retrainButton.disabled = false;
    return handleError(error, () => pollRetrain(runId));
  }
  const done = progress.decisions.length;
  const percent = progress.status === 'succeeded' ? 100 : Math.round((100 * done) / Math.max(1, progress.expected));
  ui.retrainProgress.hidden = false;
  ui.retrainProgress.setAttribute('aria-valuenow', String(percent));
  ui.retrainFill.style.width = `${percent}%`;
  ui.retrainDecisions.replaceChildren(
    ...progress.decisions.map((d) =>
      el(
        'li',
        { class: d.promoted ? 'is-promoted' : null },
        `v${d.version} ${d.kind}: ${d.metric} ${fixed(d.value, 4)} — ${d.promoted ? 'promoted' : 'kept out'} (${d.reason})`,
      ),
    ),
  );
  ui.retrainProgress.dataset.status = progress.status;
  if (progress.status === 'queued' || progress.status === 'running') {
    ui.retrainStatus.textContent = `Run ${runId} ${progress.status}: ${done} of ${progress.expected} candidates judged.`;
    setTimeout(() => pollRetrain(runId), RETRAIN_POLL_MS);
    return;
  }
  ui.retrainButton.disabled = false;
  if (progress.status === 'failed') {
    ui.retrainStatus.textContent = `Run ${runId} failed: ${progress.error}`;
  } else {
    const promoted = progress.decisions.filter((d) => d.promoted).at(-1);
    ui.retrainStatus.textContent = progress.promoted
      ? `Run ${runId} done: the gate put v${progress.promoted} (${promoted?.kind}) in production.`
      : `Run ${runId} done: no candidate beat production, which keeps serving.`;
  }
  loadModels();
}

// --- similar members -------------------------------------------------------------------------

async function checkNeighbours(event) {
  event.preventDefault();
  const memberId = new FormData(ui.neighboursForm).get('member');
  ui.neighboursStatus.textContent = 'Checking…';
  ui.neighboursTable.hidden = true;
  try {
    showNeighbours(await client.labSimilarMembers(memberId));
  } catch (error) {
    if (error.status === 401) handleError(error);
    else ui.neighboursStatus.textContent = error.message;
  }
}

function showNeighbours(check) {
  if (check.neighbours.length === 0) {
    ui.neighboursStatus.textContent = `No neighbours for member ${check.member_id}: ${check.reason}.`;
    return;
  }
  const model = check.model_version;
  ui.neighboursStatus.textContent =
    `Member ${check.member_id} (${check.played} titles played), by model v${model.id} (${model.kind}): ` +
    `mean Jaccard ${fixed(check.neighbour_jaccard)} with these neighbours, ` +
    `${fixed(check.random_jaccard)} with ${check.random_sample} random members.`;
  ui.neighboursTable.tBodies[0].replaceChildren(
    ...check.neighbours.map((n) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, `${n.member_id} ${n.name}`),
        el('td', {}, fixed(n.similarity)),
        el('td', {}, String(n.shared_titles)),
        el('td', {}, fixed(n.jaccard)),
      ),
    ),
  );
  ui.neighboursTable.hidden = false;
}

// --- wiring -----------------------------------------------------------------------------------

ui.signinForm.addEventListener('submit', signIn);
ui.signOut.addEventListener('click', () => signOut());
ui.errorDismiss.addEventListener('click', clearError);
ui.trafficForm.addEventListener('submit', startTraffic);
ui.trafficStop.addEventListener('click', stopTraffic);
ui.retrainButton.addEventListener('click', retrain);
ui.neighboursForm.addEventListener('submit', checkNeighbours);
ui.explorerUpdate.addEventListener('click', updateExplorer);
ui.window.addEventListener('change', () => Promise.all([loadHealth(), loadClicks(), loadExplorer()]));

start();

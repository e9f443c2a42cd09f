// Entry point: sign-in, profile picker, homepage, search and the detail panel.
// Every piece of data comes from the public API v1 (docs/api.md).

import { createClient } from './api.js';
import { watchImpressions } from './impressions.js';
import * as storage from './storage.js';
import {
  el,
  fillDetailPanel,
  renderProfiles,
  renderRows,
  renderSearchResults,
  renderStatus,
} from './views.js';

const $ = (selector) => document.querySelector(selector);

const ui = {
  views: {
    loading: $('#loading-view'),
    signin: $('#signin-view'),
    profiles: $('#profiles-view'),
    home: $('#home-view'),
  },
  accountName: $('.account-name'),
  currentProfile: $('.current-profile'),
  signOutButton: $('.signout-button'),
  switchProfileButton: $('.switch-profile-button'),
  refreshButton: $('.refresh-button'),
  errorBanner: $('.error-banner'),
  errorText: $('.error-banner .error-message'),
  errorDismiss: $('.error-banner .error-dismiss'),
  signinForm: $('.signin-form'),
  signinError: $('.signin-error'),
  profileList: $('.profile-list'),
  statusBar: $('.status-bar'),
  rows: $('.rows'),
  searchForm: $('.search-form'),
  searchInput: $('.search-input'),
  searchResults: $('.search-results'),
  searchHeading: $('.search-heading'),
  searchGrid: $('.results-grid'),
  searchClose: $('.search-close'),
  panel: $('.detail-panel'),
  panelStatus: $('.detail-panel .event-status'),
  panelActions: [...document.querySelectorAll('.detail-panel [data-action]')],
  panelClose: $('.detail-panel .close-button'),
};

const state = {
  token: storage.loadToken(),
  account: null,
  member: null,
  page: null,
  stopImpressions: null,
  // Counters that let a slow, superseded response be ignored.
  homeRequest: 0,
  searchRequest: 0,
  searchTimer: null,
  // { title, context, opener } while the detail panel is open.
  panel: null,
};

const client = createClient(() => state.token);

// --- views and messages -----------------------------------------------------------------------

function showView(name) {
  for (const [key, view] of Object.entries(ui.views)) view.hidden = key !== name;
  const signedIn = state.token !== null;
  const watching = signedIn && state.member !== null && name === 'home';
  ui.signOutButton.hidden = !signedIn;
  ui.switchProfileButton.hidden = !watching;
  ui.refreshButton.hidden = !watching;
  ui.searchForm.hidden = !watching;
  ui.currentProfile.hidden = !watching;
  ui.accountName.hidden = !signedIn || !state.account;
}

function showError(message) {
  ui.errorText.textContent = message;
  ui.errorBanner.hidden = false;
}

function clearError() {
  ui.errorBanner.hidden = true;
  ui.errorText.textContent = '';
}

// 401: the token is gone or revoked, so start over at sign-in; anything else goes in the banner.
function handleError(error) {
  if (error.status === 401) {
    signOut({ message: 'Your session has ended. Please sign in again.', forgetProfile: false });
    return;
  }
  showError(error.message || 'Something went wrong.');
}

// --- sign in and out --------------------------------------------------------------------------

function showSignIn(message = '') {
  ui.signinError.textContent = message;
  ui.signinError.hidden = !message;
  showView('signin');
  ui.signinForm.elements.username.focus();
}

async function signIn(event) {
  event.preventDefault();
  const form = ui.signinForm;
  const submit = form.querySelector('button[type="submit"]');
  ui.signinError.hidden = true;
  submit.disabled = true;
  try {
    const { token } = await client.login(form.elements.username.value.trim(), form.elements.password.value);
    state.token = token;
    storage.saveToken(token);
    form.reset();
    clearError();
    await loadAccount();
  } catch (error) {
    ui.signinError.textContent = error.message;
    ui.signinError.hidden = false;
  } finally {
    submit.disabled = false;
  }
}

function signOut({ message = '', forgetProfile = true } = {}) {
  stopWatching({ sendPending: false });
  if (ui.panel.open) ui.panel.close();
  state.token = null;
  state.account = null;
  state.member = null;
  state.page = null;
  state.homeRequest += 1;
  state.searchRequest += 1;
  storage.saveToken(null);
  if (forgetProfile) storage.saveMemberId(null);
  clearError();
  resetSearch();
  ui.rows.replaceChildren();
  ui.statusBar.replaceChildren();
  showSignIn(message);
}

// --- account and profiles ---------------------------------------------------------------------

async function loadAccount() {
  showView('loading');
  try {
    const account = await client.me();
    state.account = account;
    ui.accountName.textContent = account.username;
    const saved = account.members.find((member) => member.id === storage.loadMemberId());
    if (saved) chooseProfile(saved);
    else showProfiles();
  } catch (error) {
    handleError(error);
    if (error.status !== 401) showAccountRetry();
  }
}

function showAccountRetry() {
  const retry = el('button', { type: 'button', class: 'retry-button' }, 'Try again');
  retry.addEventListener('click', () => {
    clearError();
    loadAccount();
  });
  ui.profileList.replaceChildren(el('li', { class: 'empty-note' }, 'Could not load your profiles. ', retry));
  showView('profiles');
}

function showProfiles() {
  stopWatching();
  state.member = null;
  state.page = null;
  state.homeRequest += 1;
  resetSearch();
  renderProfiles(ui.profileList, state.account.members, chooseProfile);
  showView('profiles');
  ui.profileList.querySelector('.profile-tile')?.focus();
}

function chooseProfile(member) {
  state.member = member;
  storage.saveMemberId(member.id);
  ui.currentProfile.textContent = member.is_kids ? `${member.name} · Kids` : member.name;
  showView('home');
  loadHomepage();
}

// --- homepage ---------------------------------------------------------------------------------

function stopWatching({ sendPending = true } = {}) {
  state.stopImpressions?.({ sendPending });
  state.stopImpressions = null;
}

async function loadHomepage() {
  const requestId = ++state.homeRequest;
  stopWatching();
  clearError();
  resetSearch();
  ui.views.home.setAttribute('aria-busy', 'true');
  ui.statusBar.replaceChildren(el('span', { class: 'status-model' }, 'Loading homepage…'));
  try {
    const page = await client.homepage(state.member.id);
    if (requestId !== state.homeRequest) return;
    showHomepage(page);
  } catch (error) {
    if (requestId !== state.homeRequest) return;
    ui.statusBar.replaceChildren();
    handleError(error);
    // 404: the profile no longer belongs to this account, so let the user pick another.
    if (error.status === 404 && state.account) {
      storage.saveMemberId(null);
      showProfiles();
    }
  } finally {
    if (requestId === state.homeRequest) ui.views.home.removeAttribute('aria-busy');
  }
}

function showHomepage(page) {
  state.page = page;
  renderStatus(ui.statusBar, page);
  ui.views.home.dataset.pageId = page.page_id;
  const tiles = renderRows(ui.rows, page.rows, (title, tile) =>
    openPanel(title, placementContext(page, tile), tile),
  );
  const member = state.member;
  state.stopImpressions = watchImpressions(
    tiles,
    (tile) => buildEvent('impression_seen', member, Number(tile.dataset.titleId), pagePlacement(page, tile)),
    (events) => client.postEvents(events).catch(handleError),
  );
}

function pagePlacement(page, tile) {
  return { page_id: page.page_id, row_key: tile.dataset.rowKey, position: Number(tile.dataset.position) };
}

function placementContext(page, tile) {
  return { source: 'home', placement: pagePlacement(page, tile) };
}

// --- events -----------------------------------------------------------------------------------

function newEventId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // randomUUID exists only in secure contexts (https, localhost); a demo opened over plain
  // http from another machine still needs ids, so build a version-4 UUID by hand.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// occurred_at is left to the server: a client clock running fast would get the batch rejected.
function buildEvent(type, member, titleId, fields) {
  return { event_id: newEventId(), type, member: member.id, title: titleId, ...fields };
}

const watchedSeconds = (title) => Math.max(0, Math.round((title.runtime_minutes || 0) * 60));

// What a panel button posts: placed on the homepage, or found through search.
function panelEvent(action, { title, context }) {
  const member = state.member;
  if (context.source === 'search') {
    if (action === 'play') {
      return buildEvent('search_play', member, title.id, {
        query: context.query,
        watched_seconds: watchedSeconds(title),
      });
    }
    return buildEvent(action, member, title.id, {});
  }
  const extra = action === 'play' ? { watched_seconds: watchedSeconds(title) } : {};
  return buildEvent(action, member, title.id, { ...context.placement, ...extra });
}

const CONFIRMATIONS = {
  play: 'Play recorded',
  thumb_up: 'Thumbs up recorded',
  thumb_down: 'Thumbs down recorded',
};

async function recordPanelAction(action) {
  const session = state.panel;
  if (!session || !state.member) return;
  setPanelStatus('Sending…', 'is-pending');
  ui.panelActions.forEach((button) => (button.disabled = true));
  try {
    await client.postEvents([panelEvent(action, session)]);
    if (state.panel === session) setPanelStatus(CONFIRMATIONS[action], 'is-ok');
  } catch (error) {
    if (error.status === 401) handleError(error);
    else if (state.panel === session) setPanelStatus(error.message, 'is-error');
  } finally {
    ui.panelActions.forEach((button) => (button.disabled = false));
  }
}

// --- detail panel -----------------------------------------------------------------------------

function setPanelStatus(text, modifier = '') {
  ui.panelStatus.textContent = text;
  ui.panelStatus.className = `event-status ${modifier}`.trim();
}

function openPanel(title, context, opener) {
  state.panel = { title, context, opener };
  fillDetailPanel(ui.panel, title);
  setPanelStatus('');
  if (!ui.panel.open) ui.panel.showModal();
  ui.panel.querySelector('.play-button').focus();
}

function onPanelClosed() {
  const opener = state.panel?.opener;
  state.panel = null;
  if (opener?.isConnected) opener.focus();
}

// --- search -----------------------------------------------------------------------------------

function resetSearch() {
  clearTimeout(state.searchTimer);
  state.searchRequest += 1;
  ui.searchInput.value = '';
  closeSearchResults();
}

function closeSearchResults() {
  ui.searchResults.hidden = true;
  ui.searchGrid.replaceChildren();
  ui.rows.hidden = false;
}

async function runSearch(rawQuery) {
  clearTimeout(state.searchTimer);
  const query = rawQuery.trim();
  const requestId = ++state.searchRequest;
  if (!query || !state.member) {
    closeSearchResults();
    return;
  }
  clearError();
  ui.searchResults.setAttribute('aria-busy', 'true');
  try {
    const { results } = await client.search(query, state.member.id);
    if (requestId !== state.searchRequest) return;
    renderSearchResults(ui.searchGrid, ui.searchHeading, query, results, (title, tile) =>
      openPanel(title, { source: 'search', query }, tile),
    );
    ui.searchResults.hidden = false;
    ui.rows.hidden = true;
  } catch (error) {
    if (requestId === state.searchRequest) handleError(error);
  } finally {
    if (requestId === state.searchRequest) ui.searchResults.removeAttribute('aria-busy');
  }
}

// --- wiring -----------------------------------------------------------------------------------

const SEARCH_DEBOUNCE_MS = 350;

function wireEvents() {
  ui.signinForm.addEventListener('submit', signIn);
  ui.signOutButton.addEventListener('click', () => signOut());
  ui.switchProfileButton.addEventListener('click', () => {
    if (state.account) showProfiles();
    else loadAccount();
  });
  ui.refreshButton.addEventListener('click', () => loadHomepage());
  ui.errorDismiss.addEventListener('click', clearError);

  ui.searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    runSearch(ui.searchInput.value);
  });
  ui.searchInput.addEventListener('input', () => {
    clearTimeout(state.searchTimer);
    state.searchTimer = setTimeout(() => runSearch(ui.searchInput.value), SEARCH_DEBOUNCE_MS);
  });
  ui.searchClose.addEventListener('click', () => {
    resetSearch();
    ui.searchInput.focus();
  });

  ui.panelActions.forEach((button) =>
    button.addEventListener('click', () => recordPanelAction(button.dataset.action)),
  );
  ui.panelClose.addEventListener('click', () => ui.panel.close());
  ui.panel.addEventListener('close', onPanelClosed);
  // A click on the backdrop lands on the <dialog> itself, not on its content.
  ui.panel.addEventListener('click', (event) => {
    if (event.target === ui.panel) ui.panel.close();
  });
}

function start() {
  wireEvents();
  if (state.token) loadAccount();
  else showSignIn();
}

start();

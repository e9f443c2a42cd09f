// Entry point: sign-in, profiles, the homepage (billboard, rows, hover details), the detail
// panel, the player, My List and search. Every piece of data comes from the public API v1
// (docs/api.md); a failed request shows the API's message with a way to retry.

import { createClient } from './api.js';
import { createArtwork } from './artwork.js';
import { createHoverCard } from './hovercard.js';
import { watchImpressions } from './impressions.js';
import { createPlayer } from './player.js';
import * as storage from './storage.js';
import {
  el,
  fillDetailPanel,
  fillTitleCard,
  renderBillboard,
  renderProfiles,
  renderRows,
  renderSearchResults,
  renderSimilar,
  renderStatus,
} from './views.js';

const $ = (selector) => document.querySelector(selector);
const MAX_PROFILES = 5;

const ui = {
  views: {
    loading: $('#loading-view'),
    signin: $('#signin-view'),
    profiles: $('#profiles-view'),
    home: $('#home-view'),
  },
  accountName: $('.account-name'),
  currentProfile: $('.current-profile'),
  labLink: $('.lab-link'),
  signOutButton: $('.signout-button'),
  refreshButton: $('.refresh-button'),
  errorBanner: $('.error-banner'),
  errorText: $('.error-banner .error-message'),
  errorRetry: $('.error-banner .error-retry'),
  errorDismiss: $('.error-banner .error-dismiss'),
  signinForm: $('.signin-form'),
  signinError: $('.signin-error'),
  profileList: $('.profile-list'),
  manageProfiles: $('.manage-profiles'),
  profileDialog: $('.profile-dialog'),
  profileForm: $('.profile-form'),
  profileError: $('.profile-error'),
  deleteDialog: $('.delete-dialog'),
  deleteForm: $('.delete-form'),
  deleteError: $('.delete-error'),
  billboard: $('.billboard'),
  statusBar: $('.status-bar'),
  rows: $('.rows'),
  homeContent: $('.home-content'),
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
  myListButton: $('.detail-panel .my-list-button'),
  similar: $('.detail-panel .detail-similar'),
};

const state = {
  token: storage.loadToken(),
  account: null,
  member: null,
  page: null,
  myList: new Set(),
  managing: false,
  stopImpressions: null,
  // Counters that let a slow, superseded response be ignored.
  homeRequest: 0,
  searchRequest: 0,
  similarRequest: 0,
  searchTimer: null,
  // { tile, opener, changed } while the detail panel is open.
  panel: null,
  // What the profile dialog edits: null to add a profile, else the member to rename.
  editing: null,
  deleting: null,
};

const client = createClient(() => state.token);
const hoverCard = createHoverCard($('#title-card'), fillTitleCard);
const player = createPlayer($('.player'), { record: recordPlay, done: afterPlay });
const tileHandlers = { open: (tile, opener) => openPanel(tile, opener), hover: hoverCard.attach };

// --- views and messages -----------------------------------------------------------------------

function showView(name) {
  for (const [key, view] of Object.entries(ui.views)) view.hidden = key !== name;
  const signedIn = state.token !== null;
  const watching = signedIn && state.member !== null && name === 'home';
  ui.signOutButton.hidden = !signedIn;
  ui.refreshButton.hidden = !watching;
  ui.searchForm.hidden = !watching;
  ui.currentProfile.hidden = !watching;
  ui.accountName.hidden = !signedIn || !state.account;
  ui.labLink.hidden = !signedIn || !state.account?.is_staff;
  document.body.classList.toggle('is-kids', watching && Boolean(state.member?.is_kids));
}

// Every failed request ends here or in a dialog's own message: the API's words, and a retry.
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
  ui.errorText.textContent = '';
  ui.errorRetry.onclick = null;
}

// 401: the token is gone or revoked, so start over at sign-in; anything else goes in the banner.
function handleError(error, retry = null) {
  if (error.status === 401) {
    signOut({ message: 'Your session has ended. Please sign in again.', forgetProfile: false });
    return;
  }
  showError(error.message || 'Something went wrong.', retry);
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
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
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
  ui.billboard.hidden = true;
  ui.statusBar.replaceChildren();
  showSignIn(message);
}

// --- account and profiles ---------------------------------------------------------------------

async function loadAccount({ pickSaved = true } = {}) {
  showView('loading');
  try {
    const account = await client.me();
    state.account = account;
    ui.accountName.textContent = account.username;
    const saved = pickSaved && account.members.find((member) => member.id === storage.loadMemberId());
    if (saved) chooseProfile(saved);
    else showProfiles();
  } catch (error) {
    handleError(error, () => loadAccount({ pickSaved }));
    if (error.status !== 401) {
      ui.profileList.replaceChildren(el('li', { class: 'empty-note' }, 'Could not load your profiles.'));
      showView('profiles');
    }
  }
}

function showProfiles({ focus = true } = {}) {
  stopWatching();
  player.close();
  state.member = null;
  state.page = null;
  state.homeRequest += 1;
  resetSearch();
  const members = state.account.members;
  renderProfiles(ui.profileList, members, {
    managing: state.managing,
    canAdd: members.length < MAX_PROFILES,
    handlers: { pick: chooseProfile, edit: openProfileDialog, remove: openDeleteDialog, add: () => openProfileDialog(null) },
  });
  ui.manageProfiles.setAttribute('aria-pressed', String(state.managing));
  ui.manageProfiles.textContent = state.managing ? 'Done' : 'Manage profiles';
  ui.manageProfiles.hidden = members.length === 0;
  showView('profiles');
  if (focus) ui.profileList.querySelector('.profile-tile')?.focus();
}

function openProfileDialog(member) {
  state.editing = member;
  const form = ui.profileForm;
  form.reset();
  form.elements.name.value = member ? member.name : '';
  $('#profile-dialog-heading').textContent = member ? `Rename ${member.name}` : 'Add a profile';
  $('.profile-kids-label').hidden = member !== null;
  ui.profileError.hidden = true;
  ui.profileDialog.showModal();
  form.elements.name.focus();
}

async function saveProfile(event) {
  event.preventDefault();
  const form = ui.profileForm;
  const name = form.elements.name.value.trim();
  const submit = form.querySelector('.profile-save');
  submit.disabled = true;
  ui.profileError.hidden = true;
  try {
    if (state.editing) await client.renameProfile(state.editing.id, name);
    else await client.createProfile(name, form.elements.is_kids.checked);
    ui.profileDialog.close();
    await refreshProfiles();
  } catch (error) {
    if (error.status === 401) return handleError(error);
    ui.profileError.textContent = error.message;
    ui.profileError.hidden = false;
  } finally {
    submit.disabled = false;
  }
}

function openDeleteDialog(member) {
  state.deleting = member;
  $('.delete-text').textContent =
    `${member.name} will disappear from this account, with its My List. What it watched stays ` +
    'in the fact log, anonymous, because the models learn from every play.';
  ui.deleteError.hidden = true;
  ui.deleteDialog.showModal();
  ui.deleteForm.querySelector('.delete-cancel').focus();
}

async function deleteProfile(event) {
  event.preventDefault();
  const member = state.deleting;
  try {
    await client.deleteProfile(member.id);
    if (storage.loadMemberId() === member.id) storage.saveMemberId(null);
    ui.deleteDialog.close();
    await refreshProfiles();
  } catch (error) {
    if (error.status === 401) return handleError(error);
    ui.deleteError.textContent = error.message;
    ui.deleteError.hidden = false;
  }
}

async function refreshProfiles() {
  try {
    state.account = await client.me();
    showProfiles();
  } catch (error) {
    handleError(error, refreshProfiles);
  }
}

function chooseProfile(member) {
  state.member = member;
  state.managing = false;
  storage.saveMemberId(member.id);
  const kidsLabel = member.is_kids && !/kids/i.test(member.name) ? ' · Kids' : '';
  ui.currentProfile.querySelector('.current-profile-name').textContent = member.name + kidsLabel;
  document.querySelector('#home-heading').textContent = `${member.name}'s homepage`;
  showView('home');
  loadHomepage();
  loadMyList();
}

async function loadMyList() {
  const member = state.member;
  try {
    const { entries } = await client.myList(member.id);
    if (state.member === member) state.myList = new Set(entries.map((entry) => entry.title.id));
  } catch (error) {
    if (state.member === member) handleError(error, loadMyList);
  }
}

// --- homepage ---------------------------------------------------------------------------------

function stopWatching({ sendPending = true } = {}) {
  state.stopImpressions?.({ sendPending });
  state.stopImpressions = null;
  hoverCard.hide();
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
    // 404: the profile no longer belongs to this account, so let the user pick another.
    if (error.status === 404 && state.account) {
      storage.saveMemberId(null);
      handleError(error);
      refreshProfiles();
      return;
    }
    handleError(error, loadHomepage);
  } finally {
    if (requestId === state.homeRequest) ui.views.home.removeAttribute('aria-busy');
  }
}

function showHomepage(page) {
  state.page = page;
  const billboardRow = page.rows.find((row) => row.key === 'billboard');
  const rows = page.rows.filter((row) => row !== billboardRow);
  const slot = renderBillboard(ui.billboard, billboardRow, {
    play: (target) => startPlay(target),
    open: (target, opener) => openPanel(target, opener),
  });
  renderStatus(ui.statusBar, page, state.member.name);
  ui.views.home.dataset.pageId = page.page_id;
  const tiles = renderRows(ui.rows, rows, tileHandlers);
  performance.mark('homepage-rendered');
  requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('homepage-painted')));
  const member = state.member;
  state.stopImpressions = watchImpressions(
    slot ? [slot, ...tiles] : tiles,
    (tile) => buildEvent('impression_seen', member, Number(tile.dataset.titleId), placement(tile)),
    function send(events) {
      client.postEvents(events).catch((error) => handleError(error, () => send(events)));
    },
  );
}

function placement(tile) {
  return { page_id: state.page.page_id, row_key: tile.dataset.rowKey, position: Number(tile.dataset.position) };
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

// An event about the title of `tile`: placed on the homepage, or found through search.
function tileEvent(type, tile, extra = {}) {
  const { item, query } = tile.tileContext;
  if (tile.dataset.rowKey === 'search') {
    const kind = type === 'play' ? 'search_play' : type;
    return buildEvent(kind, state.member, item.title.id, kind === 'search_play' ? { query, ...extra } : extra);
  }
  return buildEvent(type, state.member, item.title.id, { ...placement(tile), ...extra });
}

// --- the player -------------------------------------------------------------------------------

function startPlay(tile) {
  if (ui.panel.open) ui.panel.close();
  const context = { ...tile.tileContext, tile, art: createArtwork(tile.tileContext.item.title, 'player-art-svg') };
  player.open(context, { eventId: newEventId(), resumeFrom: tile.tileContext.progress ?? 0 });
}

function recordPlay(session) {
  const event = tileEvent('play', session.context.tile, { watched_seconds: Math.round(session.position) });
  return client.postEvents([{ ...event, event_id: session.eventId }]);
}

// Continue Watching and the rows below it change with what was watched: show the next page.
function afterPlay(session) {
  setTimeout(() => {
    if (player.session !== session) return;
    player.close();
    if (state.member) loadHomepage();
  }, 900);
}

// --- detail panel -----------------------------------------------------------------------------

function setPanelStatus(text, modifier = '', retry = null) {
  ui.panelStatus.replaceChildren(text);
  ui.panelStatus.className = `event-status ${modifier}`.trim();
  if (retry) {
    const button = el('button', { type: 'button', class: 'retry-button' }, 'Retry');
    button.addEventListener('click', retry);
    ui.panelStatus.append(' ', button);
  }
}

function syncMyListButton(titleId) {
  const saved = state.myList.has(titleId);
  ui.myListButton.textContent = saved ? '✓ In My List' : '+ My List';
  ui.myListButton.setAttribute('aria-pressed', String(saved));
}

function openPanel(tile, opener = tile) {
  hoverCard.hide();
  state.panel = { tile, opener, changed: false };
  fillDetailPanel(ui.panel, tile.tileContext);
  syncMyListButton(tile.tileContext.item.title.id);
  setPanelStatus('');
  if (!ui.panel.open) ui.panel.showModal();
  ui.panel.querySelector('.play-button').focus();
  loadSimilar(tile.tileContext.item.title);
}

// A similar title opens in the same panel (keeping whether the homepage needs a reload on
// close); no hover card inside the dialog.
const similarHandlers = {
  open: (tile) => {
    const changed = state.panel?.changed ?? false;
    openPanel(tile, state.panel?.opener);
    state.panel.changed = changed;
  },
};

async function loadSimilar(title) {
  const requestId = ++state.similarRequest;
  ui.similar.hidden = true;
  ui.similar.querySelector('.similar-grid').replaceChildren();
  try {
    const body = await client.similar(title.id, state.member.id);
    if (requestId === state.similarRequest) renderSimilar(ui.similar, body, title, similarHandlers);
  } catch (error) {
    // The panel works without the row: say nothing unless the session ended.
    if (error.status === 401) handleError(error);
  }
}

const CONFIRMATIONS = {
  thumb_up: 'Thumbs up recorded: titles like it come next.',
  thumb_down: 'Noted: it will not be shown to you again.',
};

async function panelAction(action) {
  const session = state.panel;
  if (!session || !state.member) return;
  if (action === 'play') return startPlay(session.tile);
  const titleId = session.tile.tileContext.item.title.id;
  setPanelStatus('Sending…', 'is-pending');
  ui.panelActions.forEach((button) => (button.disabled = true));
  try {
    if (action === 'my_list') {
      const saved = state.myList.has(titleId);
      if (saved) await client.removeFromMyList(state.member.id, titleId);
      else await client.addToMyList(state.member.id, titleId);
      state.myList[saved ? 'delete' : 'add'](titleId);
      syncMyListButton(titleId);
      if (state.panel === session) setPanelStatus(saved ? 'Removed from My List.' : 'Added to My List.', 'is-ok');
    } else {
      await client.postEvents([tileEvent(action, session.tile)]);
      if (state.panel === session) setPanelStatus(CONFIRMATIONS[action], 'is-ok');
    }
    session.changed = true;
  } catch (error) {
    if (error.status === 401) handleError(error);
    else if (state.panel === session) setPanelStatus(error.message, 'is-error', () => panelAction(action));
  } finally {
    ui.panelActions.forEach((button) => (button.disabled = false));
  }
}

function onPanelClosed() {
  const session = state.panel;
  state.panel = null;
  if (player.session) return; // Play moved on to the player
  // A thumb or a My List edit changes the homepage: show the next one.
  if (session?.changed && state.member && ui.searchResults.hidden) loadHomepage();
  else if (session?.opener?.isConnected) session.opener.focus();
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
  ui.homeContent.hidden = false;
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
    renderSearchResults(ui.searchGrid, ui.searchHeading, query, results, tileHandlers);
    ui.searchResults.hidden = false;
    ui.homeContent.hidden = true;
  } catch (error) {
    if (requestId === state.searchRequest) handleError(error, () => runSearch(rawQuery));
  } finally {
    if (requestId === state.searchRequest) ui.searchResults.removeAttribute('aria-busy');
  }
}

// --- wiring -----------------------------------------------------------------------------------

const SEARCH_DEBOUNCE_MS = 250;

function wireEvents() {
  ui.signinForm.addEventListener('submit', signIn);
  ui.signOutButton.addEventListener('click', () => signOut());
  ui.currentProfile.addEventListener('click', () => {
    if (state.account) showProfiles();
    else loadAccount({ pickSaved: false });
  });
  ui.refreshButton.addEventListener('click', () => loadHomepage());
  ui.errorDismiss.addEventListener('click', clearError);
  ui.manageProfiles.addEventListener('click', () => {
    state.managing = !state.managing;
    showProfiles({ focus: false });
    ui.manageProfiles.focus();
  });
  ui.profileForm.addEventListener('submit', saveProfile);
  ui.profileForm.querySelector('.profile-cancel').addEventListener('click', () => ui.profileDialog.close());
  ui.deleteForm.addEventListener('submit', deleteProfile);
  ui.deleteForm.querySelector('.delete-cancel').addEventListener('click', () => ui.deleteDialog.close());

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
    button.addEventListener('click', () => panelAction(button.dataset.action)),
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

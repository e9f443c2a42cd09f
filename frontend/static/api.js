// Thin client for the public API v1 (docs/api.md). Every call goes through request().

const API_BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

async function readBody(response) {
  const type = response.headers.get('Content-Type') || '';
  // A non-JSON body is a Django error page or a proxy's: never show its HTML to the user.
  if (!type.includes('json')) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function formatPath(path) {
  if (path.length === 0) return '';
  const [first, ...rest] = path;
  const tail = rest.map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join('');
  return `${first}${tail}: `;
}

// Keys that hold messages about the request as a whole, not about a field.
const UNNAMED_KEYS = new Set(['non_field_errors', 'detail']);

// Turns DRF's nested error shapes into lines such as "events[2].title: Unknown title id 999999."
function flattenMessages(value, path = []) {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((item) => flattenMessages(item, path));
  if (typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) =>
      flattenMessages(item, UNNAMED_KEYS.has(key) ? path : [...path, key]),
    );
  }
  return [formatPath(path) + String(value)];
}

export function describeError(body) {
  if (typeof body === 'string') return body;
  if (!body || typeof body !== 'object') return '';
  if (body.errors) return flattenMessages(body.errors).join(' ');
  for (const key of ['detail', 'message', 'error']) {
    if (typeof body[key] === 'string') return body[key];
  }
  return flattenMessages(body).join(' ');
}

async function request(method, path, { token = null, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Token ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';

  let response;
  try {
    response = await fetch(API_BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // Leave any Django admin session cookie out: with it, DRF's SessionAuthentication
      // would demand a CSRF token on the POSTs, and the token is all we need.
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, 'Could not reach the server. Check your connection and try again.');
  }

  const data = await readBody(response);
  if (!response.ok) {
    const message = describeError(data) || `Request failed: ${response.status} ${response.statusText}`.trim();
    throw new ApiError(response.status, message, data);
  }
  return data;
}

// The client reads the token on every call, so signing out takes effect at once.
export function createClient(getToken) {
  const authed = (method, path, body) => request(method, path, { token: getToken(), body });
  const member = (id) => `/members/${encodeURIComponent(id)}`;
  return {
    login: (username, password) => request('POST', '/auth/token', { body: { username, password } }),
    me: () => authed('GET', '/me'),
    createProfile: (name, isKids) => authed('POST', '/members', { name, is_kids: isKids }),
    renameProfile: (id, name) => authed('PATCH', member(id), { name }),
    deleteProfile: (id) => authed('DELETE', member(id)),
    homepage: (memberId) => authed('GET', `${member(memberId)}/homepage`),
    myList: (memberId) => authed('GET', `${member(memberId)}/my-list`),
    addToMyList: (memberId, titleId) => authed('POST', `${member(memberId)}/my-list`, { title: titleId }),
    removeFromMyList: (memberId, titleId) =>
      authed('DELETE', `${member(memberId)}/my-list/${encodeURIComponent(titleId)}`),
    search: (query, memberId) => {
      const params = new URLSearchParams({ q: query, member: String(memberId) });
      return authed('GET', `/search?${params}`);
    },
    similar: (titleId, memberId) => {
      const params = new URLSearchParams({ member: String(memberId), k: '8' });
      return authed('GET', `/titles/${encodeURIComponent(titleId)}/similar?${params}`);
    },
    postEvents: (events) => authed('POST', '/events', { events }),
    // The lab (staff only).
    labModels: () => authed('GET', '/lab/models'),
    labHealth: (window) => authed('GET', `/lab/health?${new URLSearchParams({ window })}`),
    labClicks: (window) => authed('GET', `/lab/clicks?${new URLSearchParams({ window })}`),
    labExplorer: (window) => authed('GET', `/lab/explorer?${new URLSearchParams({ window })}`),
    explorationUpdate: () => authed('POST', '/exploration/updates'),
    explorationUpdateRun: (runId) => authed('GET', `/exploration/updates/${encodeURIComponent(runId)}`),
    labTraffic: () => authed('GET', '/lab/traffic'),
    labStartTraffic: (members, rate, durationS) =>
      authed('POST', '/lab/traffic', { members, rate, duration_s: durationS }),
    labStopTraffic: (runId) => authed('POST', `/lab/traffic/${encodeURIComponent(runId)}/stop`),
    retrain: () => authed('POST', '/models/retrain'),
    labRetrain: (runId) => authed('GET', `/lab/retrain/${encodeURIComponent(runId)}`),
    labSimilarMembers: (memberId) =>
      authed('GET', `/lab/members/${encodeURIComponent(memberId)}/similar?k=10`),
  };
}

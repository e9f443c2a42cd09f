// What survives a reload: the API token and the chosen member profile.

const TOKEN_KEY = 'homepage.token';
const MEMBER_KEY = 'homepage.member';

// localStorage can throw (private modes, disabled storage); the app then simply forgets.
function read(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    /* nothing to do: the value only lives for this page */
  }
}

export const loadToken = () => read(TOKEN_KEY);
export const saveToken = (token) => write(TOKEN_KEY, token);

export function loadMemberId() {
  const id = Number.parseInt(read(MEMBER_KEY) ?? '', 10);
  return Number.isFinite(id) ? id : null;
}
export const saveMemberId = (id) => write(MEMBER_KEY, id === null ? null : String(id));

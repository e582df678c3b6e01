// The API, from the same origin. With function keys, the key is asked for once and kept for
// this tab only (sessionStorage); with App Service authentication, a 401 with a Bearer
// challenge means "sign in" (SignInRequired), and once signed in the browser's session
// cookie goes with every request; locally with no key nothing is asked.

import { askForKey } from "./dialog.js";

const KEY = "haymaker.functionKey";
const ROOT = new URL("../", document.baseURI); // /api/
const SIGN_IN = "/.auth/login/aad"; // App Service authentication's Entra ID sign-in

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem?.title || "";
    this.errors = problem?.errors || [];
  }
}

/** A 401 with a Bearer challenge: App Service authentication wants a signed-in browser. */
export class SignInRequired extends ApiError {
  constructor(problem, challenge) {
    super(401, problem);
    const path = /sign_in="([^"]+)"/.exec(challenge)?.[1] || "";
    this.signInPath = path.startsWith("/") ? path : SIGN_IN; // this origin only
  }

  /** The sign-in URL that comes back to `location` (a path of this dashboard). */
  signInUrl(location) {
    const url = new URL(this.signInPath, window.location.origin);
    url.searchParams.set("post_login_redirect_uri", location);
    return url.href;
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

let asking = null; // one prompt for every request that meets a 401 at once

async function keyAfter401(hadKey) {
  if (!asking) {
    const message = hadKey ? "That key was not accepted. Enter the function key again." : null;
    asking = askForKey(message).finally(() => {
      asking = null;
    });
  }
  const key = await asking;
  sessionStorage.setItem(KEY, key);
}

/** path relative to /api/ ("deployments?limit=5"); body: an object sent as JSON. */
export async function request(method, path, body) {
  for (;;) {
    const key = storedKey();
    const headers = { Accept: "application/json" };
    if (key) headers["x-functions-key"] = key;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(new URL(path, ROOT), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
    const challenge = response.headers.get("WWW-Authenticate") || "";
    const text = await response.text();
    const data = text ? parseJson(text) : null;
    if (response.status === 401 && /^bearer\b/i.test(challenge)) {
      throw new SignInRequired(data, challenge);
    }
    if (response.status === 401) {
      await keyAfter401(Boolean(key));
      continue;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 200) };
  }
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);
export const patch = (path, body) => request("PATCH", path, body);

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const enc = encodeURIComponent;

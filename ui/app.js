// The dashboard's entry: who is calling, then the page the path names. Pages are ES modules
// exporting render(main, route, ctx) that return a function stopping what they started.

import { SignInRequired, get } from "./lib/api.js";
import { fill, h } from "./lib/dom.js";

const PAGES = {
  deployments: () => import("./pages/deployments.js"),
  deployment: () => import("./pages/deployment.js"),
  deploy: () => import("./pages/deploy.js"),
  schedules: () => import("./pages/schedules.js"),
  workloads: () => import("./pages/workloads.js"),
};

const BASE = new URL(document.baseURI).pathname; // /api/ui/

/** The page a location names: {page, id, params}. */
export function routeOf(location) {
  const url = new URL(location, document.baseURI);
  const parts = url.pathname.slice(BASE.length).split("/").filter(Boolean).map(decodeURIComponent);
  const params = url.searchParams;
  if (parts[0] === "deployments" && parts[1]) return { page: "deployment", id: parts[1], params };
  if (parts[0] in PAGES) return { page: parts[0], params };
  return { page: "deployments", params };
}

let stop = () => {};
let me = null;

function ctx() {
  return {
    me,
    can: (role) => me.roles.includes(role),
    navigate,
  };
}

export async function navigate(location, { replace = false } = {}) {
  const url = new URL(location, document.baseURI);
  if (url.href !== window.location.href) {
    history[replace ? "replaceState" : "pushState"]({}, "", url);
  }
  await show();
}

async function show() {
  stop();
  stop = () => {};
  const route = routeOf(window.location.href);
  for (const link of document.querySelectorAll("[data-nav]")) {
    const current = link.dataset.nav === route.page || (route.page === "deployment" && link.dataset.nav === "deployments");
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const main = document.getElementById("main");
  main.setAttribute("aria-busy", "true");
  try {
    const page = await PAGES[route.page]();
    stop = (await page.render(main, route, ctx())) || (() => {});
  } catch (error) {
    if (error instanceof SignInRequired) {
      signIn(main, error); // the session ended meanwhile
      return;
    }
    fill(main, h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, error.message));
  } finally {
    main.removeAttribute("aria-busy");
  }
}

function whoText() {
  const roles = me.roles.map((role) => role.replace("Haymaker.", "")).join(", ");
  if (me.credential === "principal") return `${me.name} · ${roles}`;
  if (me.credential === "function_key") return "function key";
  return "local (no sign-in)";
}

/** Links within the dashboard change the page without reloading it. */
function followLinks(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href);
  if (url.origin !== window.location.origin || !url.pathname.startsWith(BASE)) return;
  if (url.hash && url.pathname === window.location.pathname) return; // in-page anchors
  event.preventDefault();
  navigate(url.href).then(() => document.getElementById("main").focus());
}

/** The page for a browser that is not signed in: one link to App Service authentication's
 * sign-in, which comes back to the page asked for. */
function signIn(main, error) {
  const back = window.location.pathname + window.location.search;
  fill(
    main,
    h("h1", {}, "Sign in"),
    h("p", {}, "This Haymaker app signs its users in with Microsoft Entra ID; your app roles decide what you may do."),
    h("p", {}, h("a", { class: "button primary", id: "sign-in", href: error.signInUrl(back) }, "Sign in with Microsoft Entra ID")),
  );
}

function showWho() {
  const who = document.getElementById("who");
  who.textContent = whoText();
  if (me.credential === "principal") {
    const out = new URL("/.auth/logout", window.location.origin);
    out.searchParams.set("post_logout_redirect_uri", BASE);
    who.append(" · ", h("a", { id: "sign-out", href: out.href }, "Sign out"));
  }
}

async function start() {
  try {
    me = await get("me");
  } catch (error) {
    if (!(error instanceof SignInRequired)) throw error;
    signIn(document.getElementById("main"), error);
    return;
  }
  showWho();
  document.body.dataset.roles = me.roles.join(" ");
  document.addEventListener("click", followLinks);
  window.addEventListener("popstate", show);
  await show();
}

start().catch((error) => {
  fill(document.getElementById("main"), h("h1", {}, "The API did not answer"), h("p", { class: "error", role: "alert" }, error.message));
});

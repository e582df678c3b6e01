// Building the page: every text the API sends goes in as a text node, never as markup.

/** An element: h("a", {href: "x", class: "c"}, "text", child, [more]). Strings are text. */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** Set a node's text only when it changed (no needless layout, no flicker). */
export function setText(node, text) {
  const value = text === undefined || text === null ? "" : String(text);
  if (node.textContent !== value) node.textContent = value;
}

/** A value of the API as readable text: strings as they are, the rest as JSON. */
export function show(value) {
  if (value === undefined || value === null) return "—";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

export function section(title, ...children) {
  const id = "s-" + title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return h("section", { "aria-labelledby": id, class: "panel" }, h("h2", { id }, title), ...children);
}

/** A table that scrolls sideways on a narrow screen (and can be scrolled by keyboard). */
export function tableWrap(label, table) {
  return h("div", { class: "table-wrap", role: "region", "aria-label": label, tabindex: "0" }, table);
}

/** Key/value pairs as a definition list. */
export function pairs(entries) {
  return h(
    "dl",
    { class: "pairs" },
    entries.map(([key, value]) => [h("dt", {}, key), h("dd", {}, value instanceof Node ? value : show(value))]),
  );
}

export function badge(status) {
  return h("span", { class: `badge status-${status}` }, status.replace("_", " "));
}

// -- formats ---------------------------------------------------------------------------------

const number = new Intl.NumberFormat("en");

export function count(value) {
  return value === undefined || value === null ? "—" : number.format(value);
}

export function money(value) {
  if (value === null) return "unknown";
  if (value === undefined) return "—";
  if (value === 0) return "$0";
  return "$" + (value < 1 ? value.toFixed(4) : value.toFixed(2));
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function seconds(from, to) {
  return (Date.parse(to) - Date.parse(from)) / 1000;
}

export function age(iso, now = Date.now()) {
  if (!iso) return "—";
  const elapsed = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (elapsed < 60) return `${Math.floor(elapsed)} s ago`;
  return duration(elapsed).replace(/ \d+ (s|min)$/, "") + " ago";
}

export function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z").replace(/Z$/, " UTC");
}

/** A <time> showing the age, with the exact time on hover and for assistive technology. */
export function timeAgo(iso) {
  return h("time", { datetime: iso || "", title: when(iso) }, age(iso));
}

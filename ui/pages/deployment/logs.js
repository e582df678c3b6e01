// The live log tail, following new lines like `haymaker logs -f`.

import { enc, get, query } from "../../lib/api.js";
import { h, section, setText, when } from "../../lib/dom.js";

const TAIL = 1000; // lines shown at first; earlier ones on request
const KEEP = 20000; // lines kept in the page at most

function line(entry) {
  return h(
    "li",
    { class: `log-${entry.level}`, dataset: { line: entry.line } },
    h("span", { class: "log-time" }, when(entry.timestamp).slice(11, 19)),
    h("span", { class: "log-level" }, entry.level),
    h("span", { class: "log-text" }, entry.message),
  );
}

export function logView(deploymentId) {
  const list = h("ol", { class: "log", tabindex: "0", "aria-label": "Log lines", id: "log" });
  const follow = h("input", { type: "checkbox", id: "log-follow", checked: true });
  const earlier = h("button", { type: "button", hidden: true }, "Show earlier lines");
  const info = h("span", { class: "muted" });
  const node = section(
    "Log",
    h("div", { class: "log-tools" }, h("label", { for: "log-follow" }, follow, " follow"), earlier, info),
    list,
  );
  let cursor = null; // the last line shown
  let first = null; // the first line shown

  function add(items, { before = false } = {}) {
    if (!items.length) return;
    const fragment = document.createDocumentFragment();
    for (const entry of items) fragment.append(line(entry));
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    if (before) list.prepend(fragment);
    else list.append(fragment);
    while (list.children.length > KEEP) list.firstChild.remove();
    first = Number(list.firstChild.dataset.line);
    earlier.hidden = first <= 0;
    if (!before && follow.checked && (atBottom || cursor === null)) list.scrollTop = list.scrollHeight;
  }

  async function refresh() {
    const params = cursor === null ? { tail: TAIL, limit: TAIL } : { after: cursor, limit: 1000 };
    const page = await get(`deployments/${enc(deploymentId)}/logs${query(params)}`);
    add(page.items);
    cursor = page.cursor;
    setText(info, `${page.total} lines`);
    return page;
  }

  earlier.addEventListener("click", async () => {
    const from = Math.max(-1, first - 1 - 1000);
    const page = await get(`deployments/${enc(deploymentId)}/logs${query({ after: from, limit: first - from - 1 })}`);
    add(page.items, { before: true });
  });

  return { node, refresh };
}

// Deployments, newest first, a page at a time; filters live in the URL so a view can be shared.
// The table refreshes itself: rows are kept and only changed cells are rewritten (no flicker,
// focus and selection stay where they were).

import { enc, get, query } from "../lib/api.js";
import { STATUSES, workloads } from "../lib/catalog.js";
import { age, badge, count, fill, h, money, setText, tableWrap, when } from "../lib/dom.js";
import { every } from "../lib/poll.js";

const PAGE_SIZE = 50;
const REFRESH_MS = 3000;

const COLUMNS = ["Deployment", "Workload", "Status", "Phase", "Progress", "Usage", "Cost", "Age"];

function select(id, label, options, value) {
  return [
    h("label", { for: id }, label),
    h(
      "select",
      { id, name: id },
      h("option", { value: "" }, "any"),
      options.map((option) => h("option", { value: option, selected: option === value }, option)),
    ),
  ];
}

function progressCell(state, phases) {
  const index = phases ? phases.indexOf(state.phase) : -1;
  const done = state.status === "completed";
  const position = done ? phases?.length : index >= 0 ? index : 0;
  const bar = phases?.length
    ? h("progress", { max: phases.length, value: position, "aria-label": `phase ${position} of ${phases.length}` })
    : null;
  return { bar, text: `step ${state.usage?.steps ?? 0}${phases?.length ? ` · phase ${position}/${phases.length}` : ""}` };
}

function usageText(usage) {
  const tokens = (usage?.input_tokens ?? 0) + (usage?.output_tokens ?? 0);
  return usage?.llm_calls ? `${count(tokens)} tokens · ${count(usage.llm_calls)} calls` : "—";
}

function newRow(state) {
  const cells = COLUMNS.map(() => h("td"));
  cells[0].append(h("a", { href: `deployments/${enc(state.deployment_id)}` }, state.deployment_id));
  const row = h("tr", { dataset: { id: state.deployment_id } }, cells);
  return row;
}

function updateRow(row, state, phases) {
  const cells = row.children;
  row.classList.toggle("awaiting", Boolean(state.awaiting_approval));
  setText(cells[1], state.workload_name);
  const statusKey = `${state.status}|${state.awaiting_approval?.key || ""}`;
  if (cells[2].dataset.key !== statusKey) {
    cells[2].dataset.key = statusKey;
    fill(
      cells[2],
      badge(state.status),
      state.awaiting_approval ? h("span", { class: "badge approval" }, "awaiting approval") : null,
    );
  }
  setText(cells[3], state.phase);
  const progress = progressCell(state, phases);
  const progressKey = progress.text;
  if (cells[4].dataset.key !== progressKey) {
    cells[4].dataset.key = progressKey;
    fill(cells[4], progress.bar, h("span", {}, progress.text));
  }
  setText(cells[5], usageText(state.usage));
  setText(cells[6], money(state.usage?.cost_usd));
  const ageKey = age(state.created_at);
  if (cells[7].dataset.key !== ageKey) {
    cells[7].dataset.key = ageKey;
    fill(cells[7], h("time", { datetime: state.created_at, title: when(state.created_at) }, ageKey));
  }
}

export async function render(main, route, ctx) {
  const params = route.params;
  const filters = {
    workload: params.get("workload") || "",
    status: params.get("status") || "",
    schedule_id: params.get("schedule_id") || "",
  };
  const tokens = [params.get("continuation") || null]; // the pages walked, for "Newer"
  const catalog = await workloads();
  const phasesOf = new Map(catalog.map((w) => [w.name, w.phases]));

  const status = h("p", { class: "muted", "aria-live": "polite" });
  const body = h("tbody");
  const table = h(
    "table",
    { class: "list" },
    h("caption", { class: "visually-hidden" }, "Deployments, newest first"),
    h("thead", {}, h("tr", {}, COLUMNS.map((name) => h("th", { scope: "col" }, name)))),
    body,
  );
  const newer = h("button", { type: "button", disabled: true }, "← Newer");
  const older = h("button", { type: "button", disabled: true }, "Older →");
  const scheduleInput = h("input", { id: "f-schedule", name: "schedule_id", value: filters.schedule_id, placeholder: "sch-…" });
  const searchInput = h("input", { id: "f-search", name: "id", type: "search", placeholder: "deployment id", autocomplete: "off" });
  const searchMessage = h("p", { class: "error", role: "alert" });
  const filterForm = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter deployments" },
    h("div", {}, select("f-workload", "Workload", catalog.map((w) => w.name), filters.workload)),
    h("div", {}, select("f-status", "Status", STATUSES, filters.status)),
    h("div", {}, h("label", { for: "f-schedule" }, "Schedule"), scheduleInput),
    h("div", {}, h("button", { type: "submit" }, "Filter")),
  );
  const searchForm = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Open a deployment by id" },
    h("div", {}, h("label", { for: "f-search" }, "Open by id"), searchInput),
    h("div", {}, h("button", { type: "submit" }, "Open")),
    searchMessage,
  );

  fill(
    main,
    h(
      "div",
      { class: "title-row" },
      h("h1", {}, "Deployments"),
      ctx.can("Haymaker.Operator") ? h("a", { class: "button primary", href: "deploy" }, "Deploy a workload") : null,
    ),
    h("div", { class: "toolbar" }, filterForm, searchForm),
    tableWrap("Deployments table", table),
    h("div", { class: "pager" }, newer, status, older),
  );

  let page = { items: [], continuation: null };

  function draw() {
    const rows = new Map([...body.children].map((row) => [row.dataset.id, row]));
    const ordered = page.items.map((state) => {
      const row = rows.get(state.deployment_id) || newRow(state);
      updateRow(row, state, phasesOf.get(state.workload_name));
      return row;
    });
    const same = ordered.length === body.children.length && ordered.every((row, i) => body.children[i] === row);
    if (!same) body.replaceChildren(...ordered);
    if (!page.items.length) {
      body.replaceChildren(h("tr", { dataset: { id: "" } }, h("td", { colspan: COLUMNS.length, class: "muted" }, "No deployments match.")));
    }
    const waiting = page.items.filter((state) => state.awaiting_approval).length;
    setText(status, `${page.items.length} shown${waiting ? ` · ${waiting} awaiting approval` : ""} · refreshed ${new Date().toLocaleTimeString("en-GB")}`);
    newer.disabled = tokens.length < 2 && !tokens[0];
    older.disabled = !page.continuation;
  }

  async function load() {
    const current = tokens[tokens.length - 1];
    try {
      page = await get(`deployments${query({ ...filters, limit: PAGE_SIZE, continuation: current })}`);
    } catch (error) {
      setText(status, error.message);
      return;
    }
    draw();
  }

  function applyFilters(event) {
    event.preventDefault();
    const next = {
      workload: filterForm.querySelector("#f-workload").value,
      status: filterForm.querySelector("#f-status").value,
      schedule_id: scheduleInput.value.trim(),
    };
    ctx.navigate(`deployments${query(next)}`);
  }
  filterForm.addEventListener("submit", applyFilters);
  searchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = searchInput.value.trim();
    if (!id) return;
    try {
      await get(`deployments/${enc(id)}`);
      ctx.navigate(`deployments/${enc(id)}`);
    } catch (error) {
      searchMessage.textContent = error.status === 404 || error.status === 400 ? `No deployment ${id}.` : error.message;
    }
  });
  older.addEventListener("click", async () => {
    tokens.push(page.continuation);
    await load();
  });
  newer.addEventListener("click", async () => {
    if (tokens.length > 1) tokens.pop();
    else tokens[0] = null;
    await load();
  });

  const stop = every(REFRESH_MS, load);
  await stop.first;
  return stop;
}

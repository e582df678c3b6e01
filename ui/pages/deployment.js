// One deployment: status and phase, controls (stop, start, cleanup with its dry-run preview
// first), approvals, timeline, progress chart, usage and budget, the live log, the transcript,
// config, metadata and resources. Its URL is its id: deployments/<id>.

import { enc, get, post, query } from "../lib/api.js";
import { confirmAction, toast } from "../lib/dialog.js";
import { badge, count, fill, h, money, pairs, section, setText, show, tableWrap, when } from "../lib/dom.js";
import { every } from "../lib/poll.js";
import { approvalsView } from "./deployment/approvals.js";
import { logView } from "./deployment/logs.js";
import { timelineView } from "./deployment/timeline.js";
import { transcriptView } from "./deployment/transcript.js";

const REFRESH_MS = 1500;
const TERMINAL = new Set(["completed", "failed"]);

const LIMITS = [
  ["max_llm_tokens", "LLM tokens", (u) => u.input_tokens + u.output_tokens],
  ["max_cost_usd", "cost (USD)", (u) => u.cost_usd],
  ["max_llm_calls", "LLM calls", (u) => u.llm_calls],
  ["max_steps", "steps", (u) => u.steps],
  ["max_wall_hours", "wall-clock hours", () => null],
];

function usageTable(state) {
  const usage = state.usage || {};
  const budget = state.budget || {};
  const rows = LIMITS.map(([key, label, used]) => {
    const value = used(usage);
    const remaining = state.budget_remaining?.[key];
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, label),
      h("td", {}, key === "max_cost_usd" ? money(value) : value === null ? "—" : count(value)),
      h("td", {}, budget[key] === undefined || budget[key] === null ? "no limit" : show(budget[key])),
      h("td", {}, remaining === undefined || remaining === null ? "—" : show(remaining)),
    );
  });
  return h(
    "table",
    { class: "usage" },
    h("thead", {}, h("tr", {}, ["", "used", "limit", "left"].map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, rows),
  );
}

function cleanupPreview(preview) {
  if (!preview.would_delete.length) return [h("p", {}, "It created nothing that needs deleting; cleanup completes it.")];
  return [
    h("p", {}, `Cleanup would delete ${preview.would_delete.length}${preview.continuation ? "+" : ""} resource(s):`),
    h(
      "ul",
      { class: "preview" },
      preview.would_delete.map((r) => h("li", {}, h("code", {}, r.kind), " ", r.name)),
    ),
    preview.continuation ? h("p", { class: "muted" }, "…and more.") : null,
  ];
}

export async function render(main, route, ctx) {
  const id = route.id;
  const path = `deployments/${enc(id)}`;
  let state;
  try {
    state = await get(path);
  } catch (error) {
    fill(main, h("h1", {}, id), h("p", { class: "error", role: "alert" }, error.status === 404 ? "No such deployment." : error.message));
    return () => {};
  }

  const statusNode = h("span", { id: "status" });
  const phaseNode = h("span", { id: "phase" });
  const desiredNode = h("span", { class: "muted" });
  const errorNode = h("p", { class: "error", role: "alert", hidden: true });
  const controls = h("div", { class: "controls", role: "group", "aria-label": "Controls" });
  const summary = h("div", { class: "summary" });
  const usage = h("div");
  const details = h("div", { class: "details" });
  const resources = h("div", { class: "resources" });

  const timeline = timelineView(id);
  const logs = logView(id);
  const transcript = transcriptView(id, (entries) => timeline.setTurns(entries));
  const approvals = approvalsView(id, ctx, () => refresh());

  const canOperate = ctx.can("Haymaker.Operator");
  const stopButton = h("button", { type: "button", id: "stop" }, "Stop");
  const startButton = h("button", { type: "button", id: "start" }, "Start");
  const cleanupButton = h("button", { type: "button", id: "cleanup", class: "danger" }, "Clean up");
  if (canOperate) controls.append(stopButton, startButton, cleanupButton);

  async function command(name, label) {
    try {
      const answer = await post(`${path}/${name}`);
      toast(`${label}: desired status ${answer.desired_status}`);
    } catch (error) {
      toast(error.message, "error");
    }
    await refresh();
  }

  stopButton.addEventListener("click", async () => {
    const ok = await confirmAction({
      title: "Stop this deployment?",
      body: [h("p", {}, `${id} stops at its next step boundary; Start resumes it from there.`)],
      confirm: "Stop",
    });
    if (ok) await command("stop", "Stop");
  });
  startButton.addEventListener("click", async () => {
    const ok = await confirmAction({
      title: "Start this deployment?",
      body: [h("p", {}, `${id} resumes from where it stopped.`)],
      confirm: "Start",
    });
    if (ok) await command("start", "Start");
  });
  cleanupButton.addEventListener("click", async () => {
    let preview;
    try {
      preview = await post(`${path}/cleanup${query({ dry_run: true, limit: 100 })}`);
    } catch (error) {
      toast(error.message, "error");
      return;
    }
    const ok = await confirmAction({
      title: "Clean up this deployment?",
      body: cleanupPreview(preview),
      confirm: "Clean up",
      danger: true,
    });
    if (ok) await command("cleanup", "Cleanup");
  });

  fill(
    main,
    h(
      "div",
      { class: "title-row" },
      h("h1", { class: "deployment-id" }, id),
      controls,
    ),
    h("p", { class: "status-line" }, statusNode, " ", phaseNode, " ", desiredNode),
    errorNode,
    approvals.node,
    section("Summary", h("div", { class: "two-columns" }, summary, usage)),
    timeline.node,
    timeline.chartSection,
    logs.node,
    transcript.node,
    section("Configuration and metadata", details),
    section("Resources", resources),
  );

  const drawn = new Map(); // region -> what it shows; a region is rebuilt only when that changes
  function redraw(node, data, build) {
    const key = JSON.stringify(data);
    if (drawn.get(node) === key) return;
    drawn.set(node, key);
    build();
  }

  function drawState() {
    fill(statusNode, badge(state.status), state.awaiting_approval ? h("span", { class: "badge approval" }, "awaiting approval") : null);
    setText(phaseNode, `phase ${state.phase}`);
    const moving = state.desired_status !== state.status && !TERMINAL.has(state.status);
    setText(desiredNode, moving ? `→ ${state.desired_status}` : "");
    errorNode.hidden = !state.error;
    setText(errorNode, state.error || "");
    const stoppable = ["pending", "running"].includes(state.status) && state.desired_status !== "stopped";
    stopButton.disabled = !stoppable;
    startButton.disabled = state.status !== "stopped";
    cleanupButton.disabled = state.status === "cleaning_up" || state.desired_status === "cleaning_up";
    const { usage: used, budget, budget_remaining: left, config, metadata, ...rest } = state;
    redraw(summary, rest, () => fill(
      summary,
      pairs([
        ["Workload", h("a", { href: `workloads#w-${state.workload_name}` }, state.workload_name)],
        ["Created", when(state.created_at)],
        ["Started", when(state.started_at)],
        ["Stopped", when(state.stopped_at)],
        ["Completed", when(state.completed_at)],
        ["Deadline", when(state.deadline)],
        ["Schedule", state.schedule_id ? h("a", { href: `deployments${query({ schedule_id: state.schedule_id })}` }, state.schedule_id) : "—"],
        ["Tags", Object.entries(state.tags || {}).map(([key, value]) => `${key}=${value}`).join(", ") || "—"],
      ]),
    ));
    redraw(usage, [used, budget, left], () =>
      fill(usage, h("h3", { class: "first" }, "Usage and budget"), tableWrap("Usage and budget", usageTable(state))),
    );
    redraw(details, [config, metadata], () =>
      fill(
        details,
        h("h3", {}, "Config"),
        pairs(Object.entries(config || {})),
        h("h3", {}, "Metadata"),
        Object.keys(metadata || {}).length ? pairs(Object.entries(metadata)) : h("p", { class: "muted" }, "None yet."),
      ),
    );
  }

  async function drawResources() {
    const page = await get(`${path}/resources${query({ limit: 100 })}`);
    if (drawn.get(resources) === JSON.stringify(page)) return;
    drawn.set(resources, JSON.stringify(page));
    if (!page.items.length) {
      fill(resources, h("p", { class: "muted" }, "None recorded."));
      return;
    }
    fill(
      resources,
      tableWrap(
        "Resources",
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, ["Kind", "Name", "Data"].map((name) => h("th", { scope: "col" }, name)))),
          h("tbody", {}, page.items.map((r) => h("tr", {}, h("td", {}, r.kind), h("td", {}, r.name), h("td", {}, h("code", {}, show(r.data)))))),
        ),
      ),
      page.continuation ? h("p", { class: "muted" }, "First 100 shown.") : null,
    );
  }

  // A finished deployment is refreshed a few more times, then only now and then (someone may
  // clean it up or start it again from elsewhere).
  let settledRefreshes = 0;
  async function refresh(known) {
    state = known || (await get(path));
    drawState();
    // What an operator looks at first, then the rest (one host serves them all).
    await Promise.all([logs.refresh(), timeline.refresh(), approvals.refresh(state)]);
    await Promise.all([transcript.refresh(), drawResources()]);
    settledRefreshes = TERMINAL.has(state.status) ? settledRefreshes + 1 : 0;
  }

  let first = state; // the first refresh starts from the state fetched above
  const stop = every(REFRESH_MS, async () => {
    const known = first;
    first = null;
    if (settledRefreshes < 3 || settledRefreshes++ % 10 === 0) await refresh(known);
  });
  await stop.first;
  return () => {
    stop();
    timeline.destroy();
  };
}

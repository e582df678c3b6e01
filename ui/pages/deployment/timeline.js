// The timeline (phases, steps, their durations and the waits between them) and the chart of
// progress over time, both from GET /deployments/{id}/steps (and the transcript's turns).

import { enc, get, query } from "../../lib/api.js";
import { ProgressChart } from "../../lib/chart.js";
import { duration, fill, h, section, seconds, tableWrap, when } from "../../lib/dom.js";

const WAIT_LABELS = { stopped: "stopped", approval: "waited for approval", resume_at: "paused until its resume time" };
const OPEN_PHASE_STEPS = 8; // a finished phase with more steps starts folded

function phaseGroups(marks) {
  const groups = [];
  for (const mark of marks) {
    const last = groups[groups.length - 1];
    if (last && last.phase === mark.phase) last.marks.push(mark);
    else groups.push({ phase: mark.phase, marks: [mark] });
  }
  return groups;
}

function waitRow(wait) {
  const end = wait.ended_at || null;
  const length = end ? duration(seconds(wait.started_at, end)) : "ongoing";
  const due = wait.until ? ` (until ${when(wait.until)})` : "";
  return h(
    "tr",
    { class: `wait wait-${wait.kind}` },
    h("td", {}, "⏸"),
    h("td", {}, when(wait.started_at)),
    h("td", {}, length),
    h("td", { colspan: 2 }, `${WAIT_LABELS[wait.kind]}${due}`, wait.detail ? h("span", { class: "wait-detail" }, ` — ${wait.detail}`) : null),
  );
}

function stepTable(group, waitsAfter) {
  const rows = [];
  for (const mark of group.marks) {
    rows.push(
      h(
        "tr",
        { class: `outcome-${mark.outcome}` },
        h("td", {}, String(mark.step)),
        h("td", {}, when(mark.started_at)),
        h("td", {}, duration(seconds(mark.started_at, mark.finished_at))),
        h("td", {}, mark.outcome.replace("_", " ")),
        h("td", {}, String(mark.llm_calls)),
      ),
    );
    for (const wait of waitsAfter.get(mark.step) || []) rows.push(waitRow(wait));
  }
  return h(
    "table",
    { class: "steps" },
    h("thead", {}, h("tr", {}, ["Step", "Started", "Took", "Outcome", "LLM calls"].map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, rows),
  );
}

/** A strip of the whole run: each phase and each wait as a segment as long as it lasted. */
function strip(groups, waits, now) {
  const first = groups[0].marks[0].started_at;
  const lastMark = groups[groups.length - 1].marks.at(-1);
  const ends = [lastMark.finished_at, ...waits.map((w) => w.ended_at || now)];
  const total = Math.max(0.001, Math.max(...ends.map((end) => seconds(first, end))));
  const segments = [];
  const place = (start, end, cls, title) => {
    const node = h("span", { class: `seg ${cls}`, title });
    node.style.left = `${(100 * seconds(first, start)) / total}%`;
    node.style.width = `${Math.max(0.4, (100 * seconds(start, end)) / total)}%`;
    segments.push(node);
  };
  groups.forEach((group, i) => {
    const start = group.marks[0].started_at;
    const end = group.marks.at(-1).finished_at;
    place(start, end, `phase-${i % 4}`, `${group.phase}: ${duration(seconds(start, end))}`);
  });
  for (const wait of waits) place(wait.started_at, wait.ended_at || now, `wait-${wait.kind}`, WAIT_LABELS[wait.kind]);
  const legend = groups.map((group, i) => h("li", {}, h("span", { class: `key phase-${i % 4}` }), group.phase));
  return [h("div", { class: "strip", "aria-hidden": "true" }, segments), h("ul", { class: "strip-legend" }, legend)];
}

export function timelineView(deploymentId) {
  const body = h("div", { class: "timeline" }, h("p", { class: "muted" }, "No steps yet."));
  const chartBox = h("div", { class: "chart" });
  const chartNode = h(
    "figure",
    { class: "chart-figure" },
    chartBox,
    h("figcaption", { class: "muted" }, "Steps, LLM calls and the deployment's numeric metadata over time (tokens on the right axis)."),
  );
  const node = section("Timeline", body);
  const chartSection = section("Progress", chartNode);
  const chart = new ProgressChart(chartBox);
  let marks = [];
  let waits = [];
  let drawn = "";
  let turns = [];
  const toggled = new Map(); // phase index -> open, as the user left it

  async function refresh() {
    for (;;) {
      const after = marks.length ? marks[marks.length - 1].step - 1 : undefined;
      const page = await get(`deployments/${enc(deploymentId)}/steps${query({ after, limit: 1000 })}`);
      if (page.items.length) {
        const from = page.items[0].step;
        marks = marks.filter((m) => m.step < from).concat(page.items);
        waits = waits.filter((w) => w.after_step < from).concat(page.waits);
      }
      if (page.items.length < 1000) break;
    }
    draw();
  }

  function draw() {
    const signature = JSON.stringify([marks.length, marks.at(-1), waits, turns.length]);
    if (signature === drawn) return;
    drawn = signature;
    if (!marks.length) return;
    const groups = phaseGroups(marks);
    const waitsAfter = new Map();
    for (const wait of waits) waitsAfter.set(wait.after_step, [...(waitsAfter.get(wait.after_step) || []), wait]);
    const now = new Date().toISOString();
    const phases = groups.map((group, i) => {
      const start = group.marks[0].started_at;
      const end = group.marks.at(-1).finished_at;
      const folded = i < groups.length - 1 && group.marks.length > OPEN_PHASE_STEPS;
      const open = toggled.has(i) ? toggled.get(i) : !folded; // a redraw keeps what the user chose
      const details = h(
        "details",
        { class: "phase", open },
        h("summary", {}, h("strong", {}, group.phase), ` · ${group.marks.length} step${group.marks.length === 1 ? "" : "s"} · ${duration(seconds(start, end))}`),
      );
      // A folded phase's table is built when it is first opened.
      const table = () => tableWrap(`Steps of phase ${group.phase}`, stepTable(group, waitsAfter));
      if (open) details.append(table());
      details.addEventListener("toggle", () => {
        toggled.set(i, details.open);
        if (details.open && details.children.length === 1) details.append(table());
      });
      return details;
    });
    fill(body, strip(groups, waits, now), phases);
    chart.update(series());
  }

  function series() {
    const at = (iso) => Date.parse(iso) / 1000;
    const steps = marks.map((m) => [at(m.finished_at), m.step + 1]);
    let calls = 0;
    const llm = marks.map((m) => [at(m.finished_at), (calls += m.llm_calls)]);
    const metricNames = [...new Set(marks.flatMap((m) => Object.keys(m.metrics || {})))];
    const metrics = metricNames.map((name) => ({
      label: name.replaceAll("_", " "),
      points: marks.filter((m) => name in (m.metrics || {})).map((m) => [at(m.finished_at), m.metrics[name]]),
    }));
    let tokens = 0;
    const tokenPoints = turns.filter((t) => t.usage).map((t) => [at(t.at), (tokens += t.usage.input_tokens + t.usage.output_tokens)]);
    const turnPoints = turns.map((t) => [at(t.at), t.turn]);
    return [
      { label: "steps", points: steps },
      { label: "LLM calls", points: calls ? llm : [] },
      ...metrics,
      { label: "turns", points: turnPoints },
      { label: "tokens", points: tokenPoints, scale: "tokens" },
    ];
  }

  /** The transcript's entries, for the turns and tokens lines. */
  function setTurns(entries) {
    turns = entries;
    draw();
  }

  return { node, chartSection, refresh, setTurns, destroy: () => chart.destroy() };
}

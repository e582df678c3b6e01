// Schedules: the list with next slots and recent runs, enable / disable, run now, and a form
// to create one (cron, time zone, and the workload's config form).

import { enc, get, patch, post, query } from "../lib/api.js";
import { manifest, workloads } from "../lib/catalog.js";
import { toast } from "../lib/dialog.js";
import { fill, h, section, tableWrap, when } from "../lib/dom.js";
import { CONFIG_PROBLEM, clearErrors, numberField, schemaFields, selectField, showErrors, textField, values } from "../lib/form.js";
import { every } from "../lib/poll.js";

const REFRESH_MS = 5000;

function runsList(runs) {
  if (!runs.length) return h("p", { class: "muted" }, "No runs yet.");
  return h(
    "ul",
    { class: "runs" },
    runs.slice(0, 5).map((run) =>
      h(
        "li",
        {},
        when(run.slot),
        " ",
        run.deployment_id ? h("a", { href: `deployments/${enc(run.deployment_id)}` }, run.deployment_id) : "",
        ` ${run.outcome.replaceAll("_", " ")}`,
        run.error ? h("span", { class: "error" }, ` ${run.error}`) : null,
      ),
    ),
  );
}

function scheduleRow(view, admin, reload) {
  const toggle = h("button", { type: "button" }, view.enabled ? "Disable" : "Enable");
  const trigger = h("button", { type: "button" }, "Run now");
  toggle.addEventListener("click", async () => {
    try {
      await patch(`schedules/${enc(view.schedule_id)}`, { enabled: !view.enabled });
      toast(`${view.schedule_id} ${view.enabled ? "disabled" : "enabled"}`);
    } catch (error) {
      toast(error.message, "error");
    }
    await reload();
  });
  trigger.addEventListener("click", async () => {
    try {
      const accepted = await post(`schedules/${enc(view.schedule_id)}/trigger`);
      toast(`started ${accepted.deployment_id}`);
    } catch (error) {
      toast(error.message, "error");
    }
    await reload();
  });
  return h(
    "tr",
    { dataset: { id: view.schedule_id } },
    h("td", {}, h("a", { href: `deployments${query({ schedule_id: view.schedule_id })}`, title: "its runs" }, view.schedule_id)),
    h("td", {}, view.workload_name),
    h("td", {}, h("code", {}, view.cron), ` ${view.time_zone}`),
    h("td", {}, h("span", { class: `badge ${view.enabled ? "status-running" : "status-stopped"}` }, view.enabled ? "enabled" : "disabled")),
    h("td", {}, h("ul", { class: "slots" }, (view.next_slots || []).slice(0, 3).map((slot) => h("li", {}, when(slot))))),
    h("td", {}, runsList(view.recent_runs || [])),
    h("td", {}, admin ? h("div", { class: "row-actions" }, toggle, trigger) : "—"),
  );
}

function createForm(catalog, onCreated) {
  const picker = h("select", { id: "s-workload", name: "workload" }, catalog.map((w) => h("option", { value: w.name }, w.name)));
  const cron = textField("cron", "s-cron", "Cron (NCRONTAB, 6 fields)", "second minute hour day month day-of-week, e.g. 0 30 9 * * 1-5", { value: "0 0 * * * *" });
  const zone = textField("time_zone", "s-time_zone", "Time zone", "IANA name", { value: "UTC" });
  const maxActive = numberField("max_active", "s-max_active", "Max active runs", "1–100", { step: "1", min: 1 });
  const catchUp = selectField("catch_up", "s-catch_up", "Catch up", ["skip", "latest"], "after downtime: skip missed slots, or run the latest once");
  const configBox = h("div", { class: "grid" });
  const summary = h("div", { class: "error-summary", role: "alert" });
  let configFields = [];
  async function choose() {
    configFields = schemaFields((await manifest(picker.value)).config_schema, "s-config");
    fill(configBox, configFields.map((f) => f.node));
  }
  picker.addEventListener("change", choose);
  const form = h(
    "form",
    { novalidate: true, class: "schedule-form" },
    h("div", { class: "grid" }, h("div", { class: "field" }, h("label", { for: "s-workload" }, "Workload"), picker), cron.node, zone.node, maxActive.node, catchUp.node),
    h("fieldset", {}, h("legend", {}, "Config of each run"), configBox),
    summary,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create schedule")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const top = [cron, zone, maxActive, catchUp];
    const body = { workload: picker.value, ...values(top), config: values(configFields) };
    try {
      const created = await post("schedules", body);
      toast(`created ${created.schedule_id}`);
      clearErrors({ "": [...top, ...configFields] });
      fill(summary);
      await onCreated(created);
    } catch (error) {
      clearErrors({ "": [...top, ...configFields] });
      const unplaced = showErrors(error, { "": error.title === CONFIG_PROBLEM ? configFields : top });
      const messages = error.errors?.length ? unplaced : [error.message];
      fill(summary, messages.map((m) => h("p", {}, m)));
    }
  });
  return { form, ready: choose() };
}

export async function render(main, route, ctx) {
  const admin = ctx.can("Haymaker.Admin");
  const catalog = await workloads();
  const body = h("tbody");
  const table = h(
    "table",
    { class: "list" },
    h("caption", { class: "visually-hidden" }, "Schedules"),
    h("thead", {}, h("tr", {}, ["Schedule", "Workload", "Cron", "State", "Next slots", "Recent runs", "Actions"].map((n) => h("th", { scope: "col" }, n)))),
    body,
  );
  const parts = [h("h1", {}, "Schedules"), tableWrap("Schedules table", table)];
  let create = null;
  if (admin) {
    create = createForm(catalog, () => load());
    parts.push(section("New schedule", create.form));
  }
  fill(main, parts);

  let drawn = "";
  async function load() {
    const list = await get("schedules?limit=100");
    // The list has no next slots; each schedule's own view does.
    const views = await Promise.all(list.items.map((s) => get(`schedules/${enc(s.schedule_id)}`)));
    const signature = JSON.stringify(views);
    if (signature === drawn) return;
    drawn = signature;
    if (!views.length) {
      fill(body, h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No schedules.")));
      return;
    }
    const focused = document.activeElement?.closest("tr")?.dataset.id;
    const focusText = document.activeElement?.textContent;
    fill(body, views.map((view) => scheduleRow(view, admin, load)));
    if (focused) {
      // Keep the keyboard where it was: the same button of the same schedule's new row.
      const buttons = [...body.querySelectorAll("tr button")].filter((b) => b.closest("tr").dataset.id === focused);
      (buttons.find((b) => b.textContent === focusText) || buttons[0])?.focus();
    }
  }
  await create?.ready;
  const stop = every(REFRESH_MS, load);
  await stop.first;
  return stop;
}

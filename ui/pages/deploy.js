// Deploy: pick a workload, fill the form its config_schema generates, set duration and
// budget, and land on the new deployment's page. A 422 puts the server's messages beside the
// fields they name.

import { post } from "../lib/api.js";
import { manifest, workloads } from "../lib/catalog.js";
import { fill, h } from "../lib/dom.js";
import { CONFIG_PROBLEM, budgetFields, clearErrors, numberField, schemaFields, showErrors, textField, values } from "../lib/form.js";

function parseTags(text) {
  const tags = {};
  for (const part of text.split(/[\n,]/).map((p) => p.trim()).filter(Boolean)) {
    const [key, ...rest] = part.split("=");
    tags[key.trim()] = rest.join("=").trim();
  }
  return tags;
}

export async function render(main, route, ctx) {
  const catalog = await workloads();
  if (!ctx.can("Haymaker.Operator")) {
    fill(main, h("h1", {}, "Deploy"), h("p", {}, "Deploying needs the Haymaker.Operator role."));
    return;
  }
  const chosen = route.params.get("workload") || catalog[0]?.name;
  const picker = h(
    "select",
    { id: "workload", name: "workload" },
    catalog.map((w) => h("option", { value: w.name, selected: w.name === chosen }, `${w.name} ${w.version}`)),
  );
  const description = h("p", { class: "muted", id: "workload-description" });
  const configBox = h("div", { class: "grid" });
  const duration = numberField("duration_hours", "duration_hours", "Duration (hours)", "stops by itself after this long; empty: no deadline");
  const tags = textField("tags", "tags", "Tags", "key=value, separated by commas");
  const budget = budgetFields("budget");
  const summary = h("div", { class: "error-summary", role: "alert", tabindex: "-1" });
  const submit = h("button", { type: "submit", class: "primary" }, "Deploy");
  const form = h(
    "form",
    { class: "deploy-form", novalidate: true, "aria-describedby": "workload-description" },
    h("div", { class: "field" }, h("label", { for: "workload" }, "Workload"), picker),
    description,
    h("fieldset", {}, h("legend", {}, "Config"), configBox),
    h("fieldset", {}, h("legend", {}, "Run"), h("div", { class: "grid" }, duration.node, tags.node)),
    h("fieldset", {}, h("legend", {}, "Budget (empty: no limit)"), h("div", { class: "grid" }, budget.map((f) => f.node))),
    summary,
    h("div", { class: "actions" }, submit),
  );
  fill(main, h("h1", {}, "Deploy a workload"), form);

  let configFields = [];
  async function choose(name) {
    const workload = await manifest(name);
    description.textContent = workload.description || "";
    configFields = schemaFields(workload.config_schema, "config");
    fill(configBox, configFields.length ? configFields.map((f) => f.node) : h("p", { class: "muted" }, "This workload takes no config."));
    fill(summary);
  }
  picker.addEventListener("change", () => {
    history.replaceState({}, "", `deploy?workload=${encodeURIComponent(picker.value)}`);
    choose(picker.value);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { workload: picker.value, config: values(configFields) };
    const run = values([duration]);
    if (run.duration_hours !== undefined) body.duration_hours = run.duration_hours;
    const tagText = tags.read();
    if (tagText) body.tags = parseTags(tagText);
    const limits = values(budget);
    if (Object.keys(limits).length) body.budget = limits;
    submit.disabled = true;
    try {
      const accepted = await post("deployments", body);
      ctx.navigate(`deployments/${encodeURIComponent(accepted.deployment_id)}`);
    } catch (error) {
      clearErrors({ "": [duration, tags, ...budget, ...configFields] });
      const groups = error.title === CONFIG_PROBLEM ? { "": configFields } : { "": [duration, tags], budget };
      const unplaced = showErrors(error, groups);
      const messages = error.errors?.length ? unplaced : [error.message];
      fill(summary, messages.length ? [h("p", {}, "The server refused it:"), h("ul", {}, messages.map((m) => h("li", {}, m)))] : null);
      if (messages.length) summary.focus();
    } finally {
      submit.disabled = false;
    }
  });

  if (chosen) await choose(chosen);
}

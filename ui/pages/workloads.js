// Installed workloads: versions, phases and config schemas.

import { enc } from "../lib/api.js";
import { manifest, workloads } from "../lib/catalog.js";
import { fill, h, show, tableWrap } from "../lib/dom.js";

function range(spec) {
  if (spec.min === undefined && spec.max === undefined) return "";
  return `${spec.min ?? "…"}–${spec.max ?? "…"}`;
}

function schemaTable(name, schema) {
  const rows = Object.entries(schema || {}).map(([key, spec]) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, h("code", {}, key)),
      h("td", {}, spec.type === "array" ? `array of ${spec.items || "string"}` : spec.type),
      h("td", {}, spec.required ? "required" : spec.default === undefined || spec.default === null ? "—" : show(spec.default)),
      h("td", {}, [range(spec), spec.enum ? `one of ${spec.enum.map(String).join(", ")}` : ""].filter(Boolean).join("; ") || "—"),
      h("td", {}, spec.description || ""),
    ),
  );
  if (!rows.length) return h("p", { class: "muted" }, "No config.");
  return tableWrap(
    `Config schema of ${name}`,
    h(
      "table",
      { class: "schema" },
      h("thead", {}, h("tr", {}, ["Key", "Type", "Default", "Allowed", "Description"].map((n) => h("th", { scope: "col" }, n)))),
      h("tbody", {}, rows),
    ),
  );
}

export async function render(main, route, ctx) {
  const catalog = await workloads();
  const manifests = await Promise.all(catalog.map((w) => manifest(w.name)));
  fill(
    main,
    h("h1", {}, "Workloads"),
    manifests.map((m) =>
      h(
        "section",
        { class: "panel", id: `w-${m.name}`, "aria-labelledby": `wh-${m.name}` },
        h(
          "div",
          { class: "title-row" },
          h("h2", { id: `wh-${m.name}` }, m.name, h("span", { class: "muted" }, ` ${m.version}`)),
          ctx.can("Haymaker.Operator") ? h("a", { class: "button", href: `deploy?workload=${enc(m.name)}` }, `Deploy ${m.name}`) : null,
        ),
        h("p", {}, m.description || ""),
        h("h3", {}, "Phases"),
        h("ol", { class: "phases" }, (m.phases || []).map((phase) => h("li", {}, phase))),
        h("h3", {}, "Config schema"),
        schemaTable(m.name, m.config_schema),
      ),
    ),
  );
  if (window.location.hash) document.getElementById(decodeURIComponent(window.location.hash.slice(1)))?.scrollIntoView();
}

// An agent's transcript: its turns, the tool calls with their arguments and results, and the
// usage of each turn (GET /deployments/{id}/transcript). Every text is shown as text.

import { enc, get, query } from "../../lib/api.js";
import { count, h, section, setText, when } from "../../lib/dom.js";

const PAGE = 200;

function pretty(value) {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

function entryNode(entry) {
  const usage = entry.usage ? `${count(entry.usage.input_tokens)} in · ${count(entry.usage.output_tokens)} out` : null;
  const calls = (entry.tool_calls || []).map((call) =>
    h(
      "details",
      { class: "tool-call" },
      h("summary", {}, "call ", h("code", {}, call.name), ` (${call.id})`),
      h("pre", {}, pretty(call.arguments)),
    ),
  );
  const result = entry.tool_result
    ? h(
        "details",
        { class: `tool-result${entry.tool_result.is_error ? " is-error" : ""}`, open: true },
        h(
          "summary",
          {},
          "result of ",
          h("code", {}, entry.tool_result.name),
          ` (${entry.tool_result.call_id})`,
          entry.tool_result.is_error ? " · error" : "",
          entry.tool_result.truncated ? " · truncated" : "",
        ),
        h("pre", {}, entry.tool_result.content),
      )
    : null;
  return h(
    "li",
    { class: `entry role-${entry.role}`, dataset: { index: entry.index } },
    h(
      "p",
      { class: "entry-head" },
      h("span", { class: "entry-role" }, entry.role),
      ` · turn ${entry.turn} · `,
      h("time", { datetime: entry.at }, when(entry.at)),
      entry.model ? ` · ${entry.model}` : "",
      usage ? h("span", { class: "entry-usage" }, ` · ${usage}`) : null,
    ),
    entry.content ? h("div", { class: "entry-content" }, entry.content) : null,
    calls,
    result,
  );
}

export function transcriptView(deploymentId, onEntries) {
  const list = h("ol", { class: "transcript", id: "transcript" });
  const info = h("p", { class: "muted" });
  const node = section("Transcript", info, list);
  node.hidden = true; // until the deployment has one
  let cursor = null;
  let available = true;
  const entries = [];

  async function refresh() {
    if (!available) return;
    for (;;) {
      let page;
      try {
        page = await get(`deployments/${enc(deploymentId)}/transcript${query({ after: cursor, limit: PAGE })}`);
      } catch (error) {
        if (error.status === 404) {
          available = false; // this app serves no transcripts
          return;
        }
        throw error;
      }
      if (page.items.length) {
        node.hidden = false;
        const fragment = document.createDocumentFragment();
        for (const entry of page.items) fragment.append(entryNode(entry));
        list.append(fragment);
        entries.push(...page.items);
        onEntries(entries);
      }
      cursor = page.cursor;
      setText(info, `${page.total} entries`);
      if (page.items.length < PAGE) return;
    }
  }

  return { node, refresh };
}

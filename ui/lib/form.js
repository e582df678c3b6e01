// Forms generated from a workload's config_schema (types, defaults, ranges, enums, arrays),
// and the server's own validation messages shown beside the fields they name. The browser's
// own checks are off (novalidate): the server's messages are the ones that count.

import { h } from "./dom.js";

/** A field: {name, label, input, error, read()} — read() gives the value or undefined. */
function field(name, label, input, read, help) {
  const error = h("p", { class: "field-error", id: `${input.id}-error`, hidden: true });
  const helpNode = help ? h("p", { class: "help", id: `${input.id}-help` }, help) : null;
  input.setAttribute("aria-describedby", [helpNode?.id, error.id].filter(Boolean).join(" "));
  const labelled =
    input.type === "checkbox"
      ? h("div", { class: "field check" }, input, h("label", { for: input.id }, label), helpNode, error)
      : h("div", { class: "field" }, h("label", { for: input.id }, label), input, helpNode, error);
  return { name, node: labelled, input, error, read };
}

function describe(spec, { choices = false } = {}) {
  const parts = [spec.description];
  if (spec.min !== undefined || spec.max !== undefined) parts.push(`range ${spec.min ?? "…"}–${spec.max ?? "…"}`);
  if (spec.min_length !== undefined || spec.max_length !== undefined) {
    parts.push(`${spec.type === "array" ? "items" : "length"} ${spec.min_length ?? 0}–${spec.max_length ?? "…"}`);
  }
  if (spec.type === "array" && !choices) parts.push(`one ${spec.items || "string"} per line`);
  if (spec.type === "object") parts.push("a JSON object");
  return parts.filter(Boolean).join(" · ");
}

function scalar(type, text) {
  if (type === "integer" || type === "number") {
    const value = Number(text);
    return text.trim() !== "" && Number.isFinite(value) ? value : text; // the server names a bad one
  }
  return text;
}

/** One input per key of a config_schema ({key: FieldSpec}); ids are prefix-key. */
export function schemaFields(schema, prefix, values = {}) {
  return Object.entries(schema || {}).map(([key, spec]) => {
    const id = `${prefix}-${key}`;
    const initial = key in values ? values[key] : spec.default;
    const label = `${key}${spec.required ? " (required)" : ""}`;
    let input;
    let read;
    if (spec.type === "array" && spec.enum) {
      return choices(id, key, label, spec, Array.isArray(initial) ? initial : []);
    }
    if (spec.enum) {
      input = h(
        "select",
        { id, name: key },
        spec.required ? null : h("option", { value: "" }, "(default)"),
        spec.enum.map((option) => h("option", { value: String(option), selected: option === initial }, String(option))),
      );
      read = () => {
        if (input.value === "") return undefined;
        return spec.enum.find((option) => String(option) === input.value);
      };
    } else if (spec.type === "boolean") {
      input = h("input", { id, name: key, type: "checkbox", checked: Boolean(initial) });
      read = () => input.checked;
    } else if (spec.type === "integer" || spec.type === "number") {
      input = h("input", {
        id,
        name: key,
        type: "number",
        step: spec.type === "integer" ? "1" : "any",
        min: spec.min ?? undefined,
        max: spec.max ?? undefined,
        value: initial ?? "",
        inputmode: spec.type === "integer" ? "numeric" : "decimal",
      });
      read = () => (input.value === "" ? undefined : scalar(spec.type, input.value));
    } else if (spec.type === "array") {
      input = h("textarea", { id, name: key, rows: 3 });
      input.value = Array.isArray(initial) ? initial.join("\n") : "";
      read = () => {
        const lines = input.value.split("\n").map((line) => line.trim()).filter(Boolean);
        return lines.length ? lines.map((line) => scalar(spec.items || "string", line)) : undefined;
      };
    } else if (spec.type === "object") {
      input = h("textarea", { id, name: key, rows: 3, spellcheck: "false" });
      input.value = initial ? JSON.stringify(initial, null, 2) : "";
      read = () => {
        if (!input.value.trim()) return undefined;
        try {
          return JSON.parse(input.value);
        } catch {
          return input.value; // the server says what is wrong with it
        }
      };
    } else {
      input = h("input", { id, name: key, type: "text", value: initial ?? "", maxlength: spec.max_length ?? undefined });
      read = () => (input.value === "" ? undefined : input.value);
    }
    return field(key, label, input, read, describe(spec));
  });
}

/** An array of enum values: one checkbox per value, in a fieldset. */
function choices(id, key, label, spec, chosen) {
  const boxes = spec.enum.map((option, index) =>
    h("input", { type: "checkbox", id: `${id}-${index}`, name: key, value: String(option), checked: chosen.includes(option) }),
  );
  const help = h("p", { class: "help", id: `${id}-help` }, describe(spec, { choices: true }));
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const group = h(
    "fieldset",
    { class: "choices", id, "aria-describedby": `${help.id} ${error.id}` },
    h("legend", {}, label),
    boxes.map((box, index) => h("span", { class: "choice" }, box, h("label", { for: box.id }, String(spec.enum[index])))),
    help,
    error,
  );
  const read = () => boxes.filter((box) => box.checked).map((box) => spec.enum[Number(box.id.split("-").pop())]);
  return { name: key, node: group, input: group, error, read };
}

/** A number input outside the schema (duration, budget limits). */
export function numberField(name, id, label, help, { step = "any", min = 0 } = {}) {
  const input = h("input", { id, name, type: "number", step, min, inputmode: "decimal" });
  return field(name, label, input, () => (input.value === "" ? undefined : scalar("number", input.value)), help);
}

export function textField(name, id, label, help, props = {}) {
  const input = h("input", { id, name, type: "text", ...props });
  return field(name, label, input, () => (input.value.trim() === "" ? undefined : input.value.trim()), help);
}

export function selectField(name, id, label, options, help) {
  const input = h("select", { id, name }, options.map((option) => h("option", { value: option }, option)));
  return field(name, label, input, () => input.value, help);
}

/** Values of fields that have one, as an object. */
export function values(fields) {
  const out = {};
  for (const f of fields) {
    const value = f.read();
    if (value !== undefined) out[f.name] = value;
  }
  return out;
}

export const BUDGET_LIMITS = [
  ["max_llm_tokens", "LLM tokens", "input + output tokens", "1"],
  ["max_cost_usd", "Cost (USD)", "LLM cost in US dollars", "any"],
  ["max_llm_calls", "LLM calls", "model calls", "1"],
  ["max_steps", "Steps", "durable steps", "1"],
  ["max_wall_hours", "Wall-clock hours", "hours since it started", "any"],
];

export function budgetFields(prefix) {
  return BUDGET_LIMITS.map(([name, label, help, step]) => numberField(name, `${prefix}-${name}`, label, help, { step }));
}

// The title of a 422 about the workload's config: its error keys are the config's keys.
export const CONFIG_PROBLEM = "Invalid workload configuration";

/**
 * Show a problem's errors beside the fields they name. `groups` maps the first part of an
 * error key to fields: {"": [top-level fields], budget: [...]}. Returns the messages no field
 * took.
 */
export function clearErrors(groups) {
  for (const list of Object.values(groups)) for (const f of list) clearError(f);
}

export function showErrors(problem, groups) {
  const unplaced = [];
  for (const error of problem.errors || []) {
    const parts = String(error.key || "").split(".");
    let target = null;
    if (parts.length > 1 && groups[parts[0]]) target = groups[parts[0]].find((f) => f.name === parts[1]);
    if (!target) target = (groups[""] || []).find((f) => f.name === parts[0]);
    if (target) setError(target, error.message);
    else unplaced.push(`${error.key}: ${error.message}`);
  }
  const first = Object.values(groups).flat().find((f) => !f.error.hidden);
  first?.input.focus();
  return unplaced;
}

function setError(f, message) {
  f.error.textContent = f.error.hidden ? message : `${f.error.textContent}; ${message}`;
  f.error.hidden = false;
  f.input.setAttribute("aria-invalid", "true");
}

function clearError(f) {
  f.error.textContent = "";
  f.error.hidden = true;
  f.input.removeAttribute("aria-invalid");
}

// What rarely changes, fetched once per page load: the installed workloads.

import { enc, get } from "./api.js";

let summaries = null;
const manifests = new Map();

/** [{name, version, description, phases}] */
export function workloads() {
  summaries ??= get("workloads").then((list) => list.items);
  return summaries;
}

export function manifest(name) {
  if (!manifests.has(name)) manifests.set(name, get(`workloads/${enc(name)}`));
  return manifests.get(name);
}

export const STATUSES = ["pending", "running", "stopped", "completed", "failed", "cleaning_up"];

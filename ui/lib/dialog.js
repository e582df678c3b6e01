// Modal dialogs (native <dialog>: focus stays inside, Escape cancels).

import { h } from "./dom.js";

function modal(label, ...content) {
  const dialog = h("dialog", { "aria-label": label, class: "modal" }, ...content);
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  return dialog;
}

/** Ask before acting: resolves true when confirmed. `body` may hold any nodes. */
export function confirmAction({ title, body = [], confirm = "Confirm", danger = false }) {
  return new Promise((resolve) => {
    const yes = h("button", { type: "submit", value: "yes", class: danger ? "danger" : "primary" }, confirm);
    const form = h(
      "form",
      { method: "dialog" },
      h("h2", {}, title),
      h("div", { class: "modal-body" }, body),
      h("div", { class: "actions" }, h("button", { type: "submit", value: "no" }, "Cancel"), yes),
    );
    const dialog = modal(title, form);
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"));
    dialog.showModal();
    yes.focus();
  });
}

/** The function key, asked for once per tab (api.js keeps it in sessionStorage). */
export function askForKey(problem) {
  return new Promise((resolve) => {
    const input = h("input", {
      id: "function-key",
      type: "password",
      autocomplete: "off",
      required: true,
      spellcheck: "false",
    });
    const form = h(
      "form",
      { method: "dialog" },
      h("h2", {}, "Function key"),
      h(
        "p",
        {},
        "This app wants a function key. It is kept for this browser tab only and sent with each request.",
      ),
      problem ? h("p", { class: "error", role: "alert" }, problem) : null,
      h("label", { for: "function-key" }, "Key"),
      input,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Use key")),
    );
    const dialog = modal("Function key", form);
    dialog.addEventListener("cancel", (event) => event.preventDefault()); // nothing works without it
    form.addEventListener("submit", (event) => {
      if (!input.value.trim()) {
        event.preventDefault();
        return;
      }
      resolve(input.value.trim());
    });
    dialog.showModal();
    input.focus();
  });
}

/** A short message that goes away by itself (announced to screen readers). */
export function toast(message, kind = "info") {
  const node = document.getElementById("toast");
  node.textContent = message;
  node.dataset.kind = kind;
  node.classList.add("shown");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => node.classList.remove("shown"), 5000);
}

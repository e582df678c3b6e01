// A deployment's approvals: the pending one with a decision per option (a comment, and for a
// budget approval the raised limit), and the decided ones with who decided what.

import { enc, get, post } from "../../lib/api.js";
import { toast } from "../../lib/dialog.js";
import { fill, h, section, show, when } from "../../lib/dom.js";

const LIMIT_LABELS = {
  max_llm_tokens: "LLM tokens",
  max_cost_usd: "cost (USD)",
  max_llm_calls: "LLM calls",
  max_steps: "steps",
  max_wall_hours: "wall-clock hours",
};

function suggestedRaise(payload) {
  const allowed = Number(payload?.allowed);
  const used = Number(payload?.used);
  const base = Number.isFinite(allowed) ? allowed : Number.isFinite(used) ? used : 1;
  return Math.max(base * 2, base + 1);
}

function decidedNode(approval) {
  const decision = approval.decision;
  const by = decision ? (decision.timed_out ? "on timeout" : `by ${decision.decided_by}`) : "";
  return h(
    "li",
    { class: "approval decided" },
    h("p", {}, h("strong", {}, approval.key), ": ", approval.question),
    decision
      ? h("p", { class: "muted" }, `${decision.decision} ${by} at ${when(decision.decided_at)}`, decision.comment ? ` — “${decision.comment}”` : "")
      : h("p", { class: "muted" }, approval.status),
    approval.raised ? h("p", { class: "muted" }, `raised: ${show(approval.raised)}`) : null,
  );
}

function pendingForm(deploymentId, approval, canDecide, onDecided) {
  const id = `approval-${approval.key}`.replace(/[^a-zA-Z0-9_-]/g, "-");
  const comment = h("textarea", { id: `${id}-comment`, rows: 2, maxlength: 2000 });
  const message = h("p", { class: "error", role: "alert", id: `${id}-error` });
  const limit = approval.budget ? approval.payload?.limit : null;
  const raise = limit
    ? h("input", { id: `${id}-raise`, type: "number", min: 0, step: "any", value: suggestedRaise(approval.payload) })
    : null;
  const expires = approval.expires_at ? h("p", { class: "muted" }, `Expires ${when(approval.expires_at)}; then: ${approval.on_timeout || "the last option"}.`) : null;

  async function decide(option) {
    const body = { decision: option };
    if (comment.value.trim()) body.comment = comment.value.trim();
    if (raise && option === "approve") body.raise = { [limit]: Number(raise.value) };
    try {
      await post(`deployments/${enc(deploymentId)}/approvals/${enc(approval.key)}`, body);
      toast(`${approval.key}: ${option}`);
      onDecided();
    } catch (error) {
      message.textContent = error.message;
    }
  }

  const controls = canDecide
    ? h(
        "div",
        { class: "decide" },
        raise ? h("div", { class: "field" }, h("label", { for: raise.id }, `New limit: ${LIMIT_LABELS[limit] || limit}`), raise) : null,
        h("div", { class: "field" }, h("label", { for: comment.id }, "Comment (optional)"), comment),
        h(
          "div",
          { class: "actions" },
          approval.options.map((option) =>
            h("button", { type: "button", class: option === "approve" ? "primary" : "", onclick: () => decide(option) }, option),
          ),
        ),
        message,
      )
    : h("p", { class: "muted" }, "Deciding needs the Haymaker.Approver role.");
  return h(
    "li",
    { class: "approval pending" },
    h("p", { class: "question" }, h("strong", {}, approval.key), ": ", approval.question),
    h("p", { class: "muted" }, `Asked ${when(approval.requested_at)}`),
    approval.payload ? h("pre", { class: "payload" }, JSON.stringify(approval.payload, null, 2)) : null,
    expires,
    controls,
  );
}

export function approvalsView(deploymentId, ctx, onDecided) {
  const list = h("ul", { class: "approvals" });
  const node = section("Approvals", list);
  node.hidden = true;
  let drawn = "";

  let served = true; // whether this app has the approvals API
  async function refresh(state) {
    let items = null;
    if (served) {
      try {
        items = (await get(`deployments/${enc(deploymentId)}/approvals`)).items;
      } catch (error) {
        if (error.status !== 404) throw error;
        served = false;
      }
    }
    // Without the approvals API: what the deployment's state says it waits for.
    items ??= state.awaiting_approval ? [{ ...state.awaiting_approval, status: "pending", budget: false, payload: null }] : [];
    const signature = JSON.stringify(items);
    if (signature === drawn) return;
    drawn = signature;
    node.hidden = !items.length;
    node.classList.toggle("attention", items.some((a) => a.status === "pending"));
    const pending = items.filter((a) => a.status === "pending");
    const settled = items.filter((a) => a.status !== "pending");
    fill(
      list,
      pending.map((a) => pendingForm(deploymentId, a, ctx.can("Haymaker.Approver"), onDecided)),
      settled.map(decidedNode),
    );
  }

  return { node, refresh };
}

import { h } from "./dom.js";
import { describeError } from "./error-view.js";

export interface ActionSpec {
  title: string;
  /** What confirming does, in a sentence. */
  description: string;
  confirm: string;
  danger?: boolean;
  /** Performs the action with the reason given; resolves the line to report. A refusal stays in the dialog. */
  run(reason: string): Promise<string>;
}

/**
 * A modal confirmation for a write: the reason becomes the record's message. A native <dialog>
 * keeps focus inside while open and returns it to the button that opened it; Escape cancels.
 */
export function openActionDialog(spec: ActionSpec, done: (report: string) => void): void {
  const reason = h("input", { id: "action-reason", name: "reason", type: "text", autocomplete: "off" });
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const confirm = h("button", { type: "submit", class: spec.danger ? "danger" : undefined }, spec.confirm);
  const cancel = h("button", { type: "button", class: "quiet" }, "Cancel");
  const form = h(
    "form",
    { method: "dialog" },
    h("h2", { id: "action-title" }, spec.title),
    h("p", {}, spec.description),
    h("label", { for: "action-reason" }, "Reason (recorded as the message)"),
    reason,
    problem,
    h("div", { class: "actions" }, cancel, confirm),
  );
  const dialog = h("dialog", { "aria-labelledby": "action-title" }, form);
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    confirm.disabled = true;
    spec.run(reason.value.trim()).then(
      (report) => {
        dialog.close();
        done(report);
      },
      (err: unknown) => {
        confirm.disabled = false;
        problem.textContent = describeError(err);
        problem.hidden = false;
      },
    );
  });
  document.body.append(dialog);
  dialog.showModal();
  reason.focus();
}

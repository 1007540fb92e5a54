import { openActionDialog } from "./action-dialog.js";
import type { Entry, StatusResponse } from "./api-types.js";
import { h } from "./dom.js";
import type { PageContext } from "./page.js";
import { authorOf } from "./page.js";

interface Control {
  label: string;
  method: string;
  description: string;
  danger?: boolean;
  extra?: object;
  when(st: StatusResponse): boolean;
}

const CONTROLS: Control[] = [
  { label: "Pause", method: "Pause", description: "Freeze the plan's clock: the percentage and rings stop moving until resumed.", when: (st) => !st.paused },
  { label: "Resume", method: "Resume", description: "Restart the plan's clock where it stopped, and lift a kill switch.", when: (st) => Boolean(st.paused || st.killed) },
  { label: "Promote", method: "Promote", description: "Jump to the next step or ring now.", extra: { target: "PROMOTE_TARGET_NEXT" }, when: () => true },
  { label: "Finish", method: "Promote", description: "Serve the new value to everyone: the rollout ends and the value becomes static.", extra: { target: "PROMOTE_TARGET_FINISH" }, when: () => true },
  { label: "Abort", method: "Abort", description: "End the rollout: the stable value becomes the static value for everyone.", danger: true, when: () => true },
  { label: "Kill", method: "Kill", description: "Kill switch: everyone gets the stable value now, until resumed.", danger: true, when: (st) => !st.killed },
];

/**
 * The rollout controls, offered only to a token that holds `rollout` on the key (each one needs
 * it, see access-rules.ts). ctmd still decides every call: Promote and Resume also need the
 * environments they would open, so a grant limited to some may be refused, and the dialog shows
 * the refusal in ctmd's own words.
 */
export class RolloutActions {
  constructor(
    private readonly ctx: PageContext,
    private readonly key: string,
    private readonly report: (line: string) => void,
    private readonly allowed: () => boolean,
  ) {}

  render(st: StatusResponse): HTMLElement | null {
    if (!this.allowed()) return null;
    return h(
      "div",
      { class: "actions", role: "group", "aria-label": "Rollout controls" },
      CONTROLS.filter((c) => c.when(st)).map((c) =>
        h("button", { type: "button", class: c.danger ? "danger" : undefined, onclick: () => this.open(c) }, c.label),
      ),
    );
  }

  private open(c: Control): void {
    openActionDialog(
      {
        title: `${c.label} the rollout of ${this.key}`,
        description: c.description,
        confirm: c.label,
        danger: c.danger,
        run: async (reason) => {
          const r = await this.ctx.api.call<{ entry?: Entry }>(`RolloutService/${c.method}`, { key: this.key, author: authorOf(this.ctx), message: reason, ...c.extra });
          return `${c.label}: recorded as v${r.entry?.version ?? "?"}.`;
        },
      },
      this.report,
    );
  }
}

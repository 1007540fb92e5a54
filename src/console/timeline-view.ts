import type { Entry, HistoryResponse } from "./api-types.js";
import { h, replace } from "./dom.js";
import { errorView } from "./error-view.js";
import type { PageContext } from "./page.js";
import { recordItem } from "./record-item.js";

export const TIMELINE_PAGE = 20;

export interface TimelineHooks {
  compare(from: number, to: number): void;
  /** Whether to offer rolling back: the token may write the key. */
  mayRollback(): boolean;
  rollback(to: Entry): void;
}

/** Every record of a key, newest first, a page of History at a time. */
export class TimelineView {
  readonly el: HTMLElement;
  private readonly list = h("ol", { class: "records", "aria-labelledby": "timeline-title" });
  private readonly more = h("button", { type: "button", hidden: true }, "Older records");
  private readonly note = h("div");
  private nextToken = "";
  private head: Entry | undefined;

  constructor(
    private readonly ctx: PageContext,
    private readonly key: string,
    private readonly hooks: TimelineHooks,
  ) {
    this.more.addEventListener("click", () => void this.older());
    this.el = h("section", { id: "timeline", class: "panel" }, h("h2", { id: "timeline-title" }, "Timeline"), this.list, this.note, this.more);
  }

  /** Starts again from the newest page (the caller read it). */
  show(first: HistoryResponse): void {
    this.head = first.entries?.[0];
    this.list.replaceChildren();
    this.append(first);
  }

  private async older(): Promise<void> {
    this.more.disabled = true;
    try {
      this.append(await this.ctx.api.call<HistoryResponse>("ConfigService/History", { key: this.key, limit: TIMELINE_PAGE, pageToken: this.nextToken }));
      // The button may be gone; keep the keyboard user's place at the first record added.
      if (this.more.hidden) this.list.lastElementChild?.querySelector<HTMLElement>("button, summary")?.focus();
    } catch (e) {
      replace(this.note, errorView(e));
    } finally {
      this.more.disabled = false;
    }
  }

  private append(page: HistoryResponse): void {
    for (const e of page.entries ?? []) this.list.append(recordItem(e, { actions: this.actionsFor(e) }));
    this.nextToken = page.nextPageToken ?? "";
    this.more.hidden = this.nextToken === "";
    const below = page.compactedBelowVersion && page.compactedBelowVersion !== "0" && this.nextToken === "" ? page.compactedBelowVersion : undefined;
    replace(this.note, below ? h("p", { class: "hint" }, `Versions below v${below} were compacted away (the archive keeps them).`) : null);
  }

  private actionsFor(e: Entry): HTMLButtonElement[] {
    const v = Number(e.version);
    const out: HTMLButtonElement[] = [];
    if (v > 1) out.push(h("button", { type: "button", class: "quiet", onclick: () => this.hooks.compare(v - 1, v) }, `Compare with v${v - 1}`));
    const restorable = this.hooks.mayRollback() && !e.deleted && !e.valueCompacted && this.head !== undefined && e.version !== this.head.version;
    if (restorable) out.push(h("button", { type: "button", onclick: () => this.hooks.rollback(e) }, `Roll back to v${e.version}`));
    return out;
  }
}

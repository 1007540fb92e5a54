import type { Entry, GetAtResponse, HistoryResponse } from "./api-types.js";
import { h, replace } from "./dom.js";
import { errorView } from "./error-view.js";
import { formatTime, valueText, whoText } from "./format.js";
import type { PageContext } from "./page.js";
import { SnapshotView } from "./snapshot-view.js";

/** Records the cursor steps through: History's largest page, the newest ones. */
const CURSOR_RECORDS = 1000;

/** "pay/fee" → "pay/", "db.pool_size" → "db.": the key's siblings, for the snapshot. */
const parentOf = (key: string): string => {
  const i = Math.max(key.lastIndexOf("/"), key.lastIndexOf("."));
  return i > 0 ? key.slice(0, i + 1) : key;
};

/**
 * What was live at a moment: a cursor over the key's record times (arrow keys step from one
 * change to the next), or any time typed in; the value then (GetAt) and the snapshot of a
 * prefix then (Snapshot), both answered by ctmd for that moment.
 */
export class TimeTravelView {
  readonly el: HTMLElement;
  private readonly cursor = h("input", { id: "tt-cursor", name: "moment", type: "range", min: 0, max: 0, step: 1, value: 0, list: "tt-ticks" });
  /** A tick under the cursor per record. */
  private readonly ticks = h("datalist", { id: "tt-ticks" });
  private readonly time = h("input", { id: "tt-time", name: "time", type: "text", autocomplete: "off", spellcheck: "false", placeholder: "2026-01-31T14:05:09Z" });
  private readonly value = h("div", { class: "tt-value", role: "status", "data-testid": "tt-value" });
  private readonly snapshot: SnapshotView;
  /** Oldest first, as the cursor runs. */
  private records: Entry[] = [];
  private generation = 0;
  private timer: number | undefined;

  constructor(
    private readonly ctx: PageContext,
    private readonly key: string,
  ) {
    this.snapshot = new SnapshotView(ctx, parentOf(key));
    this.cursor.addEventListener("input", () => this.pick(this.records[Number(this.cursor.value)]?.time));
    const form = h("form", { class: "inline" }, h("label", { for: "tt-time" }, "Moment (RFC 3339, UTC)"), this.time, h("button", { type: "submit" }, "Travel"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const t = new Date(this.time.value);
      if (Number.isNaN(t.getTime())) replace(this.value, h("p", { class: "error", role: "alert" }, `“${this.time.value}” is not a time: write it as 2026-01-31T14:05:09Z`));
      else this.pick(t.toISOString(), false);
    });
    this.el = h(
      "section",
      { id: "time-travel", class: "panel", "aria-labelledby": "tt-title" },
      h("h2", { id: "tt-title" }, "Time travel"),
      h("p", { class: "hint", id: "tt-help" }, "Move the cursor over the key's changes (arrow keys step from one to the next) or type a moment."),
      h("label", { for: "tt-cursor" }, "Cursor over the record times"),
      this.cursor,
      this.ticks,
      form,
      this.value,
      this.snapshot.el,
    );
    this.cursor.setAttribute("aria-describedby", "tt-help");
  }

  /** Reloads the record times; the cursor stays on its record, or follows the newest when it was there. */
  async refresh(): Promise<void> {
    const atEnd = this.records.length === 0 || Number(this.cursor.value) === this.records.length - 1;
    const kept = this.records[Number(this.cursor.value)]?.revision;
    let page: HistoryResponse;
    try {
      page = await this.ctx.api.call<HistoryResponse>("ConfigService/History", { key: this.key, limit: CURSOR_RECORDS });
    } catch (e) {
      replace(this.value, errorView(e));
      return;
    }
    this.records = [...(page.entries ?? [])].reverse();
    this.cursor.max = String(Math.max(0, this.records.length - 1));
    this.ticks.replaceChildren(...this.records.map((r, i) => h("option", { value: i, label: `v${r.version}` })));
    const i = atEnd ? this.records.length - 1 : Math.max(0, this.records.findIndex((r) => r.revision === kept));
    this.cursor.value = String(i);
    if (atEnd || kept === undefined) this.pick(this.records[i]?.time, false);
  }

  /** Asks ctmd what was live at `time`. The cursor's moves are coalesced: only the last one is asked. */
  private pick(time: string | undefined, coalesce = true): void {
    if (time === undefined) return;
    const i = this.records.findIndex((r) => r.time === time);
    const r = this.records[i];
    this.cursor.setAttribute("aria-valuetext", r ? `v${r.version}, ${formatTime(r.time)}` : formatTime(time));
    this.time.value = time;
    clearTimeout(this.timer);
    const generation = ++this.generation;
    const go = () => void this.travel(time, generation);
    if (coalesce) this.timer = setTimeout(go, 80);
    else go();
  }

  private async travel(time: string, generation: number): Promise<void> {
    this.snapshot.at(time);
    let at: GetAtResponse;
    try {
      at = await this.ctx.api.call<GetAtResponse>("ConfigService/GetAt", { key: this.key, time });
    } catch (err) {
      if (generation === this.generation) replace(this.value, errorView(err));
      return;
    }
    if (generation !== this.generation) return;
    const e = at.entry;
    replace(
      this.value,
      h("p", { class: "facts" }, "At ", h("time", { datetime: time }, formatTime(time)), ` (revision ${at.revision}): `, e ? h("strong", { "data-testid": "tt-version" }, `v${e.version}`) : "no record", e ? ` by ${whoText(e)}` : ""),
      e ? h("pre", { class: "value", "data-testid": "tt-value-text" }, valueText(e)) : null,
    );
  }
}

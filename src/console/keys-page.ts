import type { KeySummary, ListKeysResponse } from "./api-types.js";
import { h, replace } from "./dom.js";
import { errorView } from "./error-view.js";
import { EventFeed } from "./event-feed.js";
import { compactJson, formatTime, keyHref, kindLabel, whoText } from "./format.js";
import type { Page, PageContext } from "./page.js";

const PAGE_SIZE = 100;

/** Browse the live keys under a prefix (ListKeys), kept current by watching that prefix. */
export class KeysPage implements Page {
  readonly el: HTMLElement;
  readonly title = "Keys";
  private readonly rows = h("tbody");
  private readonly summary = h("p", { class: "summary", role: "status" });
  private readonly problem = h("div");
  private readonly more = h("button", { type: "button", hidden: true }, "More keys");
  private readonly table: HTMLTableElement;
  private feed: EventFeed | undefined;
  private nextToken = "";
  private shown = 0;
  private generation = 0;
  private reloadTimer: number | undefined;
  /** The revision the first page was read at. */
  private readAt: string | undefined;

  constructor(
    private readonly ctx: PageContext,
    private readonly prefix: string,
  ) {
    const input = h("input", { id: "prefix", name: "prefix", type: "search", value: prefix, placeholder: "e.g. payments/", autocomplete: "off", spellcheck: "false" });
    const form = h("form", { role: "search", class: "inline" }, h("label", { for: "prefix" }, "Prefix"), input, h("button", { type: "submit" }, "List keys"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      ctx.navigate(`/ui/keys${input.value === "" ? "" : `?${new URLSearchParams({ prefix: input.value })}`}`);
    });
    this.more.addEventListener("click", () => void this.load(false));
    this.table = h(
      "table",
      { class: "cards keys" },
      h("caption", { class: "visually-hidden" }, "Keys"),
      h("thead", {}, h("tr", {}, ["Key", "Value", "Version", "Author", "Last change", "Rollout", "Reads"].map((c) => h("th", { scope: "col" }, c)))),
      this.rows,
    );
    this.el = h("section", { class: "keys-page" }, h("h1", { tabindex: -1 }, "Keys"), form, this.problem, this.summary, h("div", { class: "table-wrap" }, this.table), this.more);
    void this.load(true).then((ok) => ok && this.watch());
  }

  dispose(): void {
    this.feed?.close();
    clearTimeout(this.reloadTimer);
    this.generation++;
  }

  /** The first page again (`fresh`), or the next one; false when ctmd refused the listing. */
  private async load(fresh: boolean, changed: ReadonlySet<string> = new Set()): Promise<boolean> {
    const generation = ++this.generation;
    try {
      const r = await this.ctx.api.call<ListKeysResponse>("ConfigService/ListKeys", { prefix: this.prefix, pageSize: PAGE_SIZE, pageToken: fresh ? "" : this.nextToken });
      if (generation !== this.generation) return true;
      if (fresh) {
        this.readAt = r.header?.revision;
        this.rows.replaceChildren();
        this.shown = 0;
      }
      for (const k of r.keys ?? []) this.rows.append(this.row(k, changed.has(k.entry.key)));
      this.shown += r.keys?.length ?? 0;
      this.nextToken = r.nextPageToken ?? "";
      this.more.hidden = this.nextToken === "";
      this.table.hidden = this.shown === 0;
      replace(this.problem);
      const under = this.prefix === "" ? "" : ` under “${this.prefix}”`;
      replace(this.summary, this.shown === 0 ? `No live keys${under}.` : `${this.shown}${this.nextToken ? "+" : ""} ${this.shown === 1 ? "key" : "keys"}${under}.`);
      return true;
    } catch (e) {
      if (generation !== this.generation) return false;
      replace(this.problem, errorView(e), this.prefix === "" ? h("p", { class: "hint" }, "A token that may read only part of the keys lists them under a prefix it may read.") : null);
      replace(this.summary);
      this.table.hidden = true;
      this.more.hidden = true;
      return false;
    }
  }

  private watch(): void {
    let changed = new Set<string>();
    this.feed = new EventFeed(this.ctx.api, {
      prefix: this.prefix,
      after: this.readAt,
      onState: (s) => this.ctx.live(s),
      onEvents: (events) => {
        for (const e of events) changed.add(e.key);
        // A burst of changes is one reload.
        clearTimeout(this.reloadTimer);
        this.reloadTimer = setTimeout(() => {
          const keys = changed;
          changed = new Set();
          void this.load(true, keys);
        }, 150);
      },
    });
    this.feed.start();
  }

  private row(k: KeySummary, fresh: boolean): HTMLTableRowElement {
    const e = k.entry;
    // One wrapper per cell: a narrow screen lays each cell out as its label beside its content.
    const cell = (label: string, ...content: (Node | string)[]) => h("td", { "data-label": label }, h("div", {}, ...content));
    return h(
      "tr",
      { class: fresh ? "fresh" : undefined, "data-key": e.key },
      h("th", { scope: "row", "data-label": "Key" }, h("a", { href: keyHref(e.key) }, e.key)),
      cell("Value", h("code", { class: "value" }, compactJson(e.value))),
      cell("Version", `v${e.version}`),
      cell("Author", whoText(e)),
      cell("Last change", h("time", { datetime: e.time ?? "" }, formatTime(e.time)), h("span", { class: "message" }, `${kindLabel(e.kind)}${e.message ? `: ${e.message}` : ""}`)),
      cell("Rollout", k.rolling ? h("span", { class: "badge rolling" }, "rolling out") : "—"),
      cell("Reads", `${k.reads ?? "0"}`, h("span", { class: "message" }, k.lastRead ? `last ${formatTime(k.lastRead)}` : "never read")),
    );
  }
}

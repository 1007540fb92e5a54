import type { SnapshotResponse } from "./api-types.js";
import { h, replace } from "./dom.js";
import { errorView } from "./error-view.js";
import { compactJson, formatTime, keyHref, whoText } from "./format.js";
import type { PageContext } from "./page.js";

const PAGE_SIZE = 200;

/** Every key under a prefix as it was at the time-travel moment (Snapshot at that time). */
export class SnapshotView {
  readonly el: HTMLElement;
  private readonly prefix: HTMLInputElement;
  private readonly out = h("div", { "data-testid": "tt-snapshot" });
  private moment: string | undefined;
  private generation = 0;

  constructor(
    private readonly ctx: PageContext,
    prefix: string,
  ) {
    this.prefix = h("input", { id: "tt-prefix", name: "prefix", type: "text", value: prefix, autocomplete: "off", spellcheck: "false" });
    const form = h("form", { class: "inline" }, h("label", { for: "tt-prefix" }, "Snapshot of the prefix"), this.prefix, h("button", { type: "submit" }, "Show snapshot"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.load();
    });
    this.el = h("div", { class: "snapshot" }, h("h3", {}, "Snapshot at this moment"), form, this.out);
  }

  at(time: string): void {
    this.moment = time;
    void this.load();
  }

  private async load(): Promise<void> {
    if (this.moment === undefined) return;
    const generation = ++this.generation;
    const time = this.moment;
    try {
      const r = await this.ctx.api.call<SnapshotResponse>("ConfigService/Snapshot", { prefix: this.prefix.value, time, pageSize: PAGE_SIZE });
      if (generation !== this.generation) return;
      const entries = r.entries ?? [];
      replace(
        this.out,
        h("p", { class: "summary" }, `${entries.length}${r.nextPageToken ? "+" : ""} live ${entries.length === 1 ? "key" : "keys"} under “${this.prefix.value}” at revision ${r.revision}.`),
        entries.length === 0
          ? null
          : h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                { class: "cards" },
                h("caption", { class: "visually-hidden" }, `Keys under ${this.prefix.value} at ${formatTime(time)}`),
                h("thead", {}, h("tr", {}, ["Key", "Value", "Version", "Author", "Written"].map((c) => h("th", { scope: "col" }, c)))),
                h(
                  "tbody",
                  {},
                  entries.map((e) =>
                    h(
                      "tr",
                      {},
                      h("th", { scope: "row", "data-label": "Key" }, h("a", { href: keyHref(e.key) }, e.key)),
                      h("td", { "data-label": "Value" }, h("code", {}, compactJson(e.value))),
                      h("td", { "data-label": "Version" }, `v${e.version}`),
                      h("td", { "data-label": "Author" }, whoText(e)),
                      h("td", { "data-label": "Written" }, formatTime(e.time)),
                    ),
                  ),
                ),
              ),
            ),
        r.nextPageToken ? h("p", { class: "hint" }, `Showing the first ${PAGE_SIZE} keys; narrow the prefix to see others.`) : null,
      );
    } catch (e) {
      if (generation === this.generation) replace(this.out, errorView(e));
    }
  }
}

import type { BlameResponse, Entry } from "./api-types.js";
import { h, replace } from "./dom.js";
import { errorView } from "./error-view.js";
import { compactJson, formatTime, kindLabel, valueText, whoText } from "./format.js";
import type { PageContext } from "./page.js";

/** The key's current record and, beside it, which version set each part of its value (Blame). */
export class ValueView {
  readonly el: HTMLElement;
  private readonly current = h("div", { class: "current" });
  private readonly blame = h("div", { class: "blame" });

  constructor(
    private readonly ctx: PageContext,
    private readonly key: string,
  ) {
    this.el = h(
      "div",
      { class: "value-grid" },
      h("section", { class: "panel", "aria-labelledby": "current-title" }, h("h2", { id: "current-title" }, "Current value"), this.current),
      h("section", { class: "panel", "aria-labelledby": "blame-title" }, h("h2", { id: "blame-title" }, "Blame"), this.blame),
    );
  }

  async show(head: Entry): Promise<void> {
    replace(
      this.current,
      h(
        "p",
        { class: "facts" },
        h("strong", { "data-testid": "current-version" }, `v${head.version}`),
        " · ",
        kindLabel(head.kind),
        " · ",
        whoText(head),
        " · ",
        h("time", { datetime: head.time ?? "" }, formatTime(head.time)),
        head.rollout ? h("span", { class: "badge rolling" }, "rolling out") : null,
      ),
      head.message ? h("p", { class: "why" }, head.message) : null,
      h("pre", { class: "value", "data-testid": "current-value" }, valueText(head)),
    );
    if (head.deleted || head.valueCompacted) {
      replace(this.blame, h("p", { class: "hint" }, head.deleted ? "The key is deleted: nothing to blame." : "The value was compacted."));
      return;
    }
    try {
      const b = await this.ctx.api.call<BlameResponse>("ConfigService/Blame", { key: this.key });
      replace(this.blame, this.blameTable(b));
    } catch (e) {
      replace(this.blame, errorView(e));
    }
  }

  private blameTable(b: BlameResponse): HTMLElement {
    const lines = b.lines ?? [];
    if (lines.length === 0) return h("p", { class: "hint" }, "An empty value.");
    const more = b.truncated ? h("p", { class: "hint", "data-testid": "blame-truncated" }, `The first ${lines.length} leaves; the value has more (ctm blame --path narrows it).`) : null;
    return h(
      "div",
      { class: "table-wrap" },
      more,
      h(
        "table",
        { class: "cards blame-table" },
        h("caption", { class: "visually-hidden" }, "Which version set each part of the value"),
        h("thead", {}, h("tr", {}, ["Path", "Value", "Version", "Author", "When", "Message"].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          lines.map((l) =>
            h(
              "tr",
              {},
              h("th", { scope: "row", "data-label": "Path" }, h("code", {}, l.path || "(whole value)")),
              h("td", { "data-label": "Value" }, h("code", {}, compactJson(l.value, 40))),
              h("td", { "data-label": "Version" }, `v${l.version}`),
              h("td", { "data-label": "Author" }, whoText(l)),
              h("td", { "data-label": "When" }, formatTime(l.time)),
              h("td", { "data-label": "Message" }, l.message ?? ""),
            ),
          ),
        ),
      ),
    );
  }
}

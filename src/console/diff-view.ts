import type { DiffResponse, Entry, PatchOperation } from "./api-types.js";
import { h, replace } from "./dom.js";
import { errorView } from "./error-view.js";
import { compactJson, formatTime, whoText } from "./format.js";
import { jsonLines, within } from "./json-lines.js";
import type { PageContext } from "./page.js";

/** The pointers an operation takes away from the old value, and those it writes in the new one. */
function touched(ops: readonly PatchOperation[]): { removed: string[]; added: string[] } {
  const removed: string[] = [];
  const added: string[] = [];
  for (const o of ops) {
    const path = o.path ?? "";
    if (o.op === "remove" || o.op === "replace") removed.push(path);
    if (o.op === "move") removed.push(o.from ?? "");
    // "-" appends: the new element's index is not in the operation.
    if ((o.op === "add" || o.op === "replace" || o.op === "copy" || o.op === "move") && !path.endsWith("/-")) added.push(path);
  }
  return { removed, added };
}

/** Two versions side by side (Diff), the lines its JSON Patch touches marked in each. */
export class DiffView {
  readonly el: HTMLElement;
  private readonly from = h("input", { id: "diff-from", name: "from", type: "number", min: 1, step: 1, required: true });
  private readonly to = h("input", { id: "diff-to", name: "to", type: "number", min: 1, step: 1, required: true });
  private readonly out = h("div", { "aria-live": "polite" });
  private readonly title = h("h2", { id: "diff-title", tabindex: -1 }, "Compare versions");

  constructor(
    private readonly ctx: PageContext,
    private readonly key: string,
  ) {
    const form = h(
      "form",
      { class: "inline" },
      h("label", { for: "diff-from" }, "From version"),
      this.from,
      h("label", { for: "diff-to" }, "To version"),
      this.to,
      h("button", { type: "submit" }, "Compare"),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.load();
    });
    this.el = h("section", { id: "diff", class: "panel", "aria-labelledby": "diff-title" }, this.title, form, this.out);
  }

  /** New head: the default pair (the previous version and the current one) unless the reader chose one. */
  setHead(head: Entry): void {
    const v = Number(head.version);
    this.to.max = String(v);
    this.from.max = String(v);
    if (this.to.value !== "") return;
    if (v < 2) {
      replace(this.out, h("p", { class: "hint" }, "Only one version so far."));
      return;
    }
    this.from.value = String(v - 1);
    this.to.value = String(v);
    void this.load();
  }

  /** Shows a given pair and brings the reader to it. */
  compare(from: number, to: number): void {
    this.from.value = String(from);
    this.to.value = String(to);
    this.title.focus();
    void this.load();
  }

  private async load(): Promise<void> {
    try {
      const d = await this.ctx.api.call<DiffResponse>("ConfigService/Diff", { key: this.key, fromVersion: this.from.value, toVersion: this.to.value });
      replace(this.out, this.render(d));
    } catch (e) {
      replace(this.out, errorView(e));
    }
  }

  private render(d: DiffResponse): HTMLElement {
    const ops = d.operations ?? [];
    const { removed, added } = touched(ops);
    return h(
      "div",
      {},
      h("div", { class: "diff", "data-testid": "diff" }, this.side(d.from, removed, "del"), this.side(d.to, added, "add")),
      h("h3", {}, ops.length === 0 ? "No change between these versions" : `${ops.length} ${ops.length === 1 ? "change" : "changes"} (JSON Patch)`),
      h(
        "ul",
        { class: "ops" },
        ops.map((o) => h("li", {}, h("code", {}, `${o.op} ${o.path || "(whole value)"}`), o.from ? ` from ${o.from}` : "", o.value !== undefined ? h("code", {}, ` → ${compactJson(o.value, 60)}`) : "")),
      ),
    );
  }

  private side(e: Entry | undefined, marked: string[], mark: "del" | "add"): HTMLElement {
    const label = mark === "del" ? "removed" : "added";
    const heading = e ? `v${e.version} · ${whoText(e)} · ${formatTime(e.time)}` : "(none)";
    const absent = !e || e.deleted || e.valueCompacted;
    const lines = absent ? [{ text: e?.valueCompacted ? "(value compacted)" : "(deleted)", pointer: "" }] : jsonLines(e.value ?? null);
    return h(
      "figure",
      { class: `side ${mark === "del" ? "from" : "to"}` },
      h("figcaption", {}, heading),
      h(
        "ol",
        { class: "code" },
        lines.map((l) => {
          const hit = marked.some((p) => within(l.pointer, p));
          return h("li", { class: hit ? mark : undefined }, h("span", { class: "mark", "aria-hidden": "true" }, hit ? (mark === "del" ? "−" : "+") : " "), hit ? h("span", { class: "visually-hidden" }, `${label}: `) : null, h("code", {}, l.text));
        }),
      ),
    );
  }
}

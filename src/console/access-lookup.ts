import type { QueryAccessLogResponse } from "./api-types.js";
import { h, replace } from "./dom.js";
import { errorView } from "./error-view.js";
import { enumLabel, formatTime, keyHref } from "./format.js";
import type { PageContext } from "./page.js";

/** "Which config did request X get?": the access log by request id (QueryAccessLog). */
export class AccessLookup {
  readonly el: HTMLElement;
  private readonly out = h("div", { "aria-live": "polite", "data-testid": "access-result" });

  constructor(
    private readonly ctx: PageContext,
    initial: string,
  ) {
    const input = h("input", { id: "request-id", name: "request", type: "search", value: initial, autocomplete: "off", spellcheck: "false", required: true });
    const form = h("form", { class: "inline", role: "search" }, h("label", { for: "request-id" }, "Request id"), input, h("button", { type: "submit" }, "Look up"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.lookup(input.value.trim());
    });
    this.el = h(
      "section",
      { class: "panel", "aria-labelledby": "access-title" },
      h("h2", { id: "access-title" }, "Which config did a request get?"),
      h("p", { class: "hint" }, "Every Get that carries a request id is in the access log, with the version and variant it was served."),
      form,
      this.out,
    );
    if (initial !== "") void this.lookup(initial);
  }

  private async lookup(requestId: string): Promise<void> {
    if (requestId === "") return;
    try {
      const r = await this.ctx.api.call<QueryAccessLogResponse>("AccessLogService/QueryAccessLog", { requestId, limit: 100 });
      const records = r.records ?? [];
      if (records.length === 0) {
        replace(this.out, h("p", {}, `No access record for request “${requestId}”. Records reach the log within moments of the Get.`));
        return;
      }
      replace(
        this.out,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "cards" },
            h("caption", {}, `Request “${requestId}” got`),
            h("thead", {}, h("tr", {}, ["Key", "Version", "Variant", "Reason", "Unit", "When", "Source"].map((c) => h("th", { scope: "col" }, c)))),
            h(
              "tbody",
              {},
              records.map((a) =>
                h(
                  "tr",
                  {},
                  h("th", { scope: "row", "data-label": "Key" }, h("a", { href: keyHref(a.key) }, a.key)),
                  h("td", { "data-label": "Version" }, `v${a.version ?? "?"} (rev ${a.revision ?? "?"})`),
                  h("td", { "data-label": "Variant" }, a.variant ?? ""),
                  h("td", { "data-label": "Reason" }, enumLabel(a.reason)),
                  h("td", { "data-label": "Unit" }, a.unitId ?? ""),
                  h("td", { "data-label": "When" }, formatTime(a.time)),
                  h("td", { "data-label": "Source" }, a.source ?? ""),
                ),
              ),
            ),
          ),
        ),
      );
    } catch (e) {
      replace(this.out, errorView(e));
    }
  }
}

import type { Entry } from "./api-types.js";
import { h, type Child } from "./dom.js";
import { formatTime, keyHref, kindLabel, valueText, whoText } from "./format.js";

/**
 * One record of the log as a list item: what (version, kind, key), who, when, why (the message)
 * and what caused it, then its value on demand. `withKey` links the key (lists across keys).
 */
export function recordItem(e: Entry, opts: { withKey?: boolean; actions?: Child[] } = {}): HTMLLIElement {
  const kind = e.kind ?? "RECORD_KIND_SET";
  const facts: Child[] = [
    h("span", { class: `badge kind ${kind.toLowerCase().replace(/_/g, "-")}` }, kindLabel(kind)),
    e.rolledBackTo && e.rolledBackTo !== "0" ? h("span", { class: "fact" }, `restores v${e.rolledBackTo}`) : null,
    e.cause && e.cause !== "api" ? h("span", { class: "fact" }, `cause: ${e.cause}`) : null,
    e.breakGlass ? h("span", { class: "badge danger" }, "break glass") : null,
    e.changeRequest ? h("span", { class: "fact" }, `change request ${e.changeRequest}`) : null,
  ];
  return h(
    "li",
    { class: "record", "data-version": e.version, "data-revision": e.revision, "data-kind": kind },
    h(
      "div",
      { class: "record-head" },
      opts.withKey ? h("a", { href: keyHref(e.key), class: "key" }, e.key) : null,
      h("strong", { class: "version" }, `v${e.version}`),
      facts,
      h("span", { class: "who" }, whoText(e)),
      h("time", { datetime: e.time ?? "" }, formatTime(e.time)),
      h("span", { class: "revision" }, `rev ${e.revision}`),
    ),
    e.message ? h("p", { class: "why" }, e.message) : h("p", { class: "why none" }, "no message"),
    h("details", { class: "record-value" }, h("summary", {}, "Value"), h("pre", {}, valueText(e))),
    opts.actions && opts.actions.length > 0 ? h("div", { class: "actions" }, opts.actions) : null,
  );
}

import { AccessLookup } from "./access-lookup.js";
import { RECORD_KINDS, type Entry, type EntriesResponse } from "./api-types.js";
import { h, replace } from "./dom.js";
import { errorView } from "./error-view.js";
import { EventFeed } from "./event-feed.js";
import { kindLabel } from "./format.js";
import type { Page, PageContext } from "./page.js";
import { recordItem } from "./record-item.js";

const LIMIT = 50;
/** ListChanges calls one click may make to fill a page: each looks at a bounded stretch of the log. */
const CALLS_PER_PAGE = 10;

const shortKind = (k: string): string => k.replace(/^RECORD_KIND_/, "").toLowerCase();

/** The newest changes across keys (ListChanges), filtered, kept current; and the access log by request id. */
export class ActivityPage implements Page {
  readonly el: HTMLElement;
  readonly title = "Activity";
  private readonly list = h("ol", { class: "records", "aria-labelledby": "changes-title" });
  private readonly more = h("button", { type: "button", hidden: true }, "Older changes");
  private readonly summary = h("p", { class: "summary", role: "status" });
  private readonly problem = h("div");
  private readonly query: { prefix: string; author: string; kinds: string[] };
  private nextToken = "";
  private feed: EventFeed | undefined;
  private timer: number | undefined;
  private disposed = false;
  /** The revision the newest page was read at. */
  private readAt: string | undefined;

  constructor(
    private readonly ctx: PageContext,
    params: URLSearchParams,
  ) {
    const kinds = params.getAll("kind").map((k) => `RECORD_KIND_${k.toUpperCase()}`).filter((k) => (RECORD_KINDS as readonly string[]).includes(k));
    this.query = { prefix: params.get("prefix") ?? "", author: params.get("author") ?? "", kinds };
    this.more.addEventListener("click", () => void this.load(false));
    const lookup = new AccessLookup(ctx, params.get("request") ?? "");
    // Filters and the lookup come first in reading order; on a wide screen they sit beside the list.
    this.el = h(
      "section",
      { class: "activity-page" },
      h("h1", { tabindex: -1 }, "Activity"),
      h("div", { class: "side-tools" }, this.filters(), lookup.el),
      h("section", { class: "panel changes", "aria-labelledby": "changes-title" }, h("h2", { id: "changes-title" }, "Newest changes"), this.problem, this.summary, this.list, this.more),
    );
    void this.load(true).then((ok) => ok && this.watch());
  }

  dispose(): void {
    this.disposed = true;
    this.feed?.close();
    clearTimeout(this.timer);
  }

  private filters(): HTMLElement {
    const author = h("input", { id: "f-author", name: "author", type: "text", value: this.query.author, autocomplete: "off", spellcheck: "false" });
    const prefix = h("input", { id: "f-prefix", name: "prefix", type: "text", value: this.query.prefix, autocomplete: "off", spellcheck: "false" });
    const boxes = RECORD_KINDS.map((k) => h("input", { type: "checkbox", id: `f-kind-${shortKind(k)}`, name: "kind", value: shortKind(k), checked: this.query.kinds.includes(k) }));
    const form = h(
      "form",
      { class: "filters", "aria-label": "Filter changes" },
      h("div", { class: "field" }, h("label", { for: "f-author" }, "Author"), author),
      h("div", { class: "field" }, h("label", { for: "f-prefix" }, "Key prefix"), prefix),
      h("fieldset", {}, h("legend", {}, "Kinds (none checked: every kind)"), h("div", { class: "kinds" }, boxes.map((b, i) => h("label", { class: "check" }, b, kindLabel(RECORD_KINDS[i]))))),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply filters"), h("a", { href: "/ui/activity" }, "Clear")),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const q = new URLSearchParams();
      if (author.value) q.set("author", author.value);
      if (prefix.value) q.set("prefix", prefix.value);
      for (const b of boxes) if (b.checked) q.append("kind", b.value);
      this.ctx.navigate(`/ui/activity${q.toString() !== "" ? `?${q}` : ""}`);
    });
    return form;
  }

  private page(pageToken: string): Promise<EntriesResponse> {
    return this.ctx.api.call<EntriesResponse>("ConfigService/ListChanges", { ...this.query, limit: LIMIT, pageToken });
  }

  /** The newest page (`fresh`) or the next older one, following short pages until one is full. */
  private async load(fresh: boolean): Promise<boolean> {
    this.more.disabled = true;
    try {
      const got: Entry[] = [];
      let token = fresh ? "" : this.nextToken;
      for (let calls = 0; calls < CALLS_PER_PAGE && got.length < LIMIT; calls++) {
        const r = await this.page(token);
        if (fresh && calls === 0) this.readAt = r.header?.revision;
        got.push(...(r.entries ?? []));
        token = r.nextPageToken ?? "";
        if (token === "") break;
      }
      if (this.disposed) return false;
      if (fresh) this.list.replaceChildren();
      for (const e of got) this.list.append(recordItem(e, { withKey: true }));
      this.nextToken = token;
      this.more.hidden = token === "";
      replace(this.problem);
      this.tell();
      return true;
    } catch (e) {
      replace(this.problem, errorView(e));
      return false;
    } finally {
      this.more.disabled = false;
    }
  }

  /** New changes on top, without losing the older pages the reader loaded. */
  private async newest(): Promise<void> {
    const top = Number(this.list.firstElementChild?.getAttribute("data-revision") ?? 0);
    try {
      const r = await this.page("");
      if (this.disposed) return;
      const fresh = (r.entries ?? []).filter((e) => Number(e.revision) > top);
      this.list.prepend(...fresh.map((e) => {
        const li = recordItem(e, { withKey: true });
        li.classList.add("fresh");
        return li;
      }));
      this.tell();
    } catch (e) {
      replace(this.problem, errorView(e));
    }
  }

  private tell(): void {
    const n = this.list.childElementCount;
    replace(this.summary, n === 0 ? "No changes match." : `${n} ${n === 1 ? "change" : "changes"} shown, newest first.`);
  }

  private watch(): void {
    this.feed = new EventFeed(this.ctx.api, {
      prefix: this.query.prefix,
      after: this.readAt,
      onState: (s) => this.ctx.live(s),
      onEvents: () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.newest(), 150);
      },
    });
    this.feed.start();
  }
}

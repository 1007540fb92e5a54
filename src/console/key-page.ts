import { openActionDialog } from "./action-dialog.js";
import type { Entry, HistoryResponse } from "./api-types.js";
import { DiffView } from "./diff-view.js";
import { h, replace } from "./dom.js";
import { errorView } from "./error-view.js";
import { EventFeed } from "./event-feed.js";
import { keyAccess, type KeyAccess } from "./key-access.js";
import { authorOf, type Page, type PageContext } from "./page.js";
import { RolloutView } from "./rollout-view.js";
import { TIMELINE_PAGE, TimelineView } from "./timeline-view.js";
import { TimeTravelView } from "./time-travel-view.js";
import { ValueView } from "./value-view.js";

/**
 * One key: its current value and blame, its rollout, its timeline, a diff of any two versions
 * and time travel; kept current by watching the key.
 */
export class KeyPage implements Page {
  readonly el: HTMLElement;
  readonly title: string;
  private readonly value: ValueView;
  private readonly rollout: RolloutView;
  private readonly timeline: TimelineView;
  private readonly diff: DiffView;
  private readonly travel: TimeTravelView;
  private readonly problem = h("div");
  private readonly report = h("p", { class: "report", role: "status", "data-testid": "report" });
  private readonly body: HTMLElement;
  private readonly rolloutLink: HTMLElement;
  private feed: EventFeed | undefined;
  private timer: number | undefined;
  private disposed = false;
  private generation = 0;
  /** The revision the page was first read at. */
  private readAt: string | undefined;
  /** What ctmd says the token may do here, asked once with the first read. */
  private readonly asked: Promise<KeyAccess>;
  private may: KeyAccess = { write: false, rollout: false };

  constructor(
    private readonly ctx: PageContext,
    private readonly key: string,
  ) {
    this.title = key;
    const say = (line: string) => replace(this.report, line);
    this.asked = keyAccess(ctx.api, key);
    this.value = new ValueView(ctx, key);
    this.rollout = new RolloutView(ctx, key, say, () => this.may.rollout);
    this.diff = new DiffView(ctx, key);
    this.timeline = new TimelineView(ctx, key, { compare: (from, to) => this.diff.compare(from, to), mayRollback: () => this.may.write, rollback: (e) => this.rollbackTo(e) });
    this.travel = new TimeTravelView(ctx, key);
    const toc = h(
      "nav",
      { class: "toc", "aria-label": "Sections of this key" },
      h("ul", {}, [["#rollout", "Rollout"], ["#timeline", "Timeline"], ["#diff", "Compare"], ["#time-travel", "Time travel"]].map(([href, text]) => h("li", {}, h("a", { href: href! }, text!)))),
    );
    this.rolloutLink = toc.querySelector("li")!;
    this.body = h("div", { hidden: true }, this.value.el, this.rollout.el, this.timeline.el, this.diff.el, this.travel.el);
    this.el = h("article", { class: "key-page" }, h("p", { class: "crumbs" }, h("a", { href: "/ui/keys" }, "Keys")), h("h1", { tabindex: -1, class: "key-title" }, key), toc, this.report, this.problem, this.body);
    void this.refresh(true).then((ok) => ok && this.watch());
  }

  dispose(): void {
    this.disposed = true;
    this.feed?.close();
    clearTimeout(this.timer);
  }

  /** Reads the key again; false when it cannot be read at all (missing, not permitted). */
  private async refresh(first = false): Promise<boolean> {
    const generation = ++this.generation;
    let page: HistoryResponse;
    let may: KeyAccess;
    try {
      [page, may] = await Promise.all([this.ctx.api.call<HistoryResponse>("ConfigService/History", { key: this.key, limit: TIMELINE_PAGE }), this.asked]);
    } catch (e) {
      replace(this.problem, errorView(e));
      this.body.hidden = first || this.body.hidden;
      return false;
    }
    // A later refresh (a newer change) wins over this one.
    if (this.disposed || generation !== this.generation) return false;
    this.may = may;
    this.readAt ??= page.header?.revision;
    const head = page.entries?.[0];
    if (head === undefined) {
      replace(this.problem, h("p", { class: "hint" }, "No records."));
      return false;
    }
    replace(this.problem);
    this.body.hidden = false;
    this.timeline.show(page);
    this.diff.setHead(head);
    await Promise.all([this.value.show(head), this.travel.refresh(), this.rollout.refresh(head)]);
    this.rolloutLink.hidden = this.rollout.el.hidden;
    return true;
  }

  private watch(): void {
    this.feed = new EventFeed(this.ctx.api, {
      key: this.key,
      after: this.readAt,
      onState: (s) => this.ctx.live(s),
      onEvents: () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.refresh(), 100);
      },
    });
    this.feed.start();
  }

  private rollbackTo(e: Entry): void {
    openActionDialog(
      {
        title: `Roll ${this.key} back to v${e.version}`,
        description: `Appends a new version whose value is v${e.version}'s, written ${e.time ?? ""}. The history keeps everything.`,
        confirm: `Roll back to v${e.version}`,
        danger: true,
        run: async (reason) => {
          const r = await this.ctx.api.call<{ entry?: Entry }>("ConfigService/Rollback", { key: this.key, toVersion: e.version, author: authorOf(this.ctx), message: reason });
          return `Rolled back: v${r.entry?.version ?? "?"} restores v${e.version}.`;
        },
      },
      (line) => {
        replace(this.report, line);
        void this.refresh();
      },
    );
  }
}

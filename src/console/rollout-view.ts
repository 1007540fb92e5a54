import { ApiError } from "./api-client.js";
import type { Entry, HealthHistoryResponse, HistoryResponse, StatusResponse, SummarizeAccessLogResponse } from "./api-types.js";
import { h, replace } from "./dom.js";
import { errorView } from "./error-view.js";
import { formatTime, pct } from "./format.js";
import type { PageContext } from "./page.js";
import { RolloutActions } from "./rollout-actions.js";
import { rolloutChart, type ChartData, type ChartMark } from "./rollout-chart.js";
import { rolloutChartData } from "./rollout-chart-data.js";

/** Records looked at for the chart's marks and the rollout's start. */
const HISTORY = 200;

/**
 * A key's rollout: where it stands (RolloutService/Status), the controls, and one chart of the
 * plan against what units were served (SummarizeAccessLog) and what the health loop saw
 * (GetHealthHistory), with pauses, kills and rollbacks marked where the log recorded them.
 * Hidden for a key that never rolled out.
 */
export class RolloutView {
  readonly el: HTMLElement;
  private readonly body = h("div");
  private readonly actions: RolloutActions;
  /** The last plan seen while active: after a rollback the chart still shows what was planned. */
  private lastActive: StatusResponse | undefined;
  /**
   * Each milestone's due time as last seen with the plan's clock running: a paused plan has none,
   * and the chart then shows when they were due before the pause.
   */
  private readonly due = new Map<number, string>();

  constructor(
    private readonly ctx: PageContext,
    private readonly key: string,
    report: (line: string) => void,
    /** Whether to offer the controls: the token holds `rollout` on the key. */
    mayControl: () => boolean,
  ) {
    this.actions = new RolloutActions(ctx, key, report, mayControl);
    this.el = h("section", { id: "rollout", class: "panel", "aria-labelledby": "rollout-title", hidden: true }, h("h2", { id: "rollout-title" }, "Rollout"), this.body);
  }

  async refresh(head: Entry): Promise<void> {
    let status: StatusResponse;
    let history: Entry[];
    try {
      [status, history] = await Promise.all([
        this.ctx.api.call<StatusResponse>("RolloutService/Status", { key: this.key }),
        this.ctx.api.call<HistoryResponse>("ConfigService/History", { key: this.key, limit: HISTORY }).then((r) => r.entries ?? []),
      ]);
    } catch (e) {
      // A deleted key has no status: nothing to show.
      this.el.hidden = e instanceof ApiError && e.code === "not_found";
      replace(this.body, errorView(e));
      return;
    }
    if (status.active) this.lastActive = status;
    for (const m of this.lastActive?.milestones ?? []) if (m.dueTime !== undefined) this.due.set(m.index, m.dueTime);
    const withPlan = status.active ? (status.entry ?? head) : history.find((e) => e.rollout !== undefined);
    this.el.hidden = withPlan === undefined;
    if (withPlan === undefined) return;
    const start = Date.parse(withPlan.rollout?.state?.startedAt ?? withPlan.time ?? "");
    const now = Date.now();
    const plan = this.lastActive;
    const milestones = (plan?.milestones ?? []).map((m) => ({ ...m, dueTime: m.dueTime ?? this.due.get(m.index) }));
    const [summary, health] = await Promise.allSettled([
      start < now ? this.ctx.api.call<SummarizeAccessLogResponse>("AccessLogService/SummarizeAccessLog", { key: this.key, startTime: new Date(start).toISOString(), endTime: new Date(now).toISOString() }) : Promise.resolve({}),
      this.ctx.api.call<HealthHistoryResponse>("HealthCheckService/GetHealthHistory", { key: this.key }),
    ]);
    const data = rolloutChartData({ withPlan, milestones, status, history, start, now, summary: summary.status === "fulfilled" ? summary.value : {}, health: health.status === "fulfilled" ? health.value : {} });
    replace(
      this.body,
      this.statusLine(status),
      status.active ? this.actions.render(status) : null,
      h("figure", { class: "chart" }, h("figcaption", { id: "rollout-chart-title" }, `Planned percentage, share served and error rates of ${this.key}`), h("div", { class: "chart-scroll", tabindex: 0, role: "group", "aria-labelledby": "rollout-chart-title" }, rolloutChart(data, "rollout-chart-title")), legend(data)),
      summary.status === "rejected" ? errorView(summary.reason) : null,
      health.status === "rejected" ? errorView(health.reason) : null,
      milestoneTable(plan),
      marksList(data.marks),
    );
  }

  private statusLine(st: StatusResponse): HTMLElement {
    if (!st.active) return h("p", { class: "facts", "data-testid": "rollout-status" }, "Not rolling out now: the value is static.", this.lastActive ? "" : " The plan's milestones are shown while a rollout runs.");
    const next = st.nextMilestone;
    return h(
      "p",
      { class: "facts", "data-testid": "rollout-status" },
      h("strong", {}, pct(st.percentage ?? 0)),
      st.ring ? ` · ring ${st.ring}` : "",
      st.paused ? h("span", { class: "badge warn" }, "paused") : null,
      st.killed ? h("span", { class: "badge danger" }, "killed") : null,
      st.activated === false ? h("span", { class: "badge" }, "scheduled") : null,
      next ? ` · next: ${next.description ?? ""}${next.dueTime ? ` at ${formatTime(next.dueTime)}` : " (clock paused)"}` : "",
    );
  }
}

function legend(d: ChartData): HTMLElement {
  const item = (cls: string, text: string) => h("li", {}, h("span", { class: `swatch ${cls}`, "aria-hidden": "true" }), text);
  return h(
    "ul",
    { class: "legend" },
    item("plan", "planned percentage"),
    d.variants.map((v, i) => item(`share v${i % 4}`, `served ${v} (access log)`)),
    d.health.length > 0 ? [item("rate canary", "canary error rate"), item("rate stable", "stable error rate")] : item("rate none", "no health checks ran for this key"),
    item("mark", "control records"),
  );
}

function milestoneTable(plan: StatusResponse | undefined): HTMLElement | null {
  const ms = plan?.milestones ?? [];
  if (ms.length === 0) return null;
  return h(
    "details",
    { class: "milestones" },
    h("summary", {}, `Milestones (${ms.filter((m) => m.reached).length} of ${ms.length} reached)`),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "cards" },
        h("thead", {}, h("tr", {}, ["#", "Milestone", "Percentage", "Ring", "Due", "Reached"].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          ms.map((m) =>
            h(
              "tr",
              {},
              h("td", { "data-label": "#" }, String(m.index)),
              h("td", { "data-label": "Milestone" }, m.description ?? ""),
              h("td", { "data-label": "Percentage" }, pct(m.percentage ?? 0)),
              h("td", { "data-label": "Ring" }, m.ring ?? ""),
              h("td", { "data-label": "Due" }, m.dueTime ? formatTime(m.dueTime) : "paused"),
              h("td", { "data-label": "Reached" }, m.reached ? "yes" : "no"),
            ),
          ),
        ),
      ),
    ),
  );
}

function marksList(marks: ChartMark[]): HTMLElement | null {
  if (marks.length === 0) return null;
  return h("div", {}, h("h3", {}, "Control records"), h("ul", { class: "marks", "data-testid": "rollout-marks" }, marks.map((m) => h("li", {}, m.title))));
}

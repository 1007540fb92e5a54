import type { Milestone } from "./api-types.js";
import { s } from "./dom.js";
import { formatTime, pct } from "./format.js";

/** One bucket of the access log: the share of evaluations each variant other than stable got. */
export interface ShareBucket {
  t: number;
  width: number;
  total: number;
  shares: { variant: string; pct: number; count: number }[];
}

/** One tick of the health loop. */
export interface HealthPoint {
  t: number;
  check: string;
  verdict: string;
  canary?: number;
  stable?: number;
}

/** A control record (pause, kill, rollback...) where it happened. */
export interface ChartMark {
  t: number;
  label: string;
  title: string;
}

export interface ChartData {
  start: number;
  end: number;
  now: number;
  /** The percentage from the start until the first milestone. */
  initial: number;
  /** A ramp moves linearly between milestones; steps jump at each. */
  ramp: boolean;
  milestones: Milestone[];
  /** Where ctmd says the rollout is now, when it is active. */
  current: number | undefined;
  buckets: ShareBucket[];
  variants: string[];
  health: HealthPoint[];
  marks: ChartMark[];
}

const W = 800;
const LEFT = 52;
const RIGHT = 784;
const TOP = 28;
const PLAN_BOTTOM = 208;
const ERR_TOP = 244;
const ERR_BOTTOM = 324;
const H = 352;

/**
 * The rollout on one time axis: the planned percentage curve with its milestones and rings, the
 * share each variant actually served (access log) as bars under it, the error rates the health
 * loop saw below, and the control records as vertical marks across both.
 */
export function rolloutChart(d: ChartData, labelId: string): SVGSVGElement {
  const span = Math.max(1, d.end - d.start);
  const x = (t: number): number => LEFT + ((Math.min(Math.max(t, d.start), d.end) - d.start) / span) * (RIGHT - LEFT);
  const y = (p: number): number => PLAN_BOTTOM - (Math.min(Math.max(p, 0), 100) / 100) * (PLAN_BOTTOM - TOP);
  const maxRate = Math.max(0.05, ...d.health.flatMap((p) => [p.canary ?? 0, p.stable ?? 0]).map((r) => r * 1.25));
  const ey = (r: number): number => ERR_BOTTOM - (Math.min(r, maxRate) / maxRate) * (ERR_BOTTOM - ERR_TOP);
  const title = (text: string) => s("title", {}, text);

  const grid = [0, 25, 50, 75, 100].map((p) => [
    s("line", { class: "grid", x1: LEFT, x2: RIGHT, y1: y(p), y2: y(p) }),
    s("text", { class: "axis", x: LEFT - 6, y: y(p) + 4, "text-anchor": "end" }, `${p}%`),
  ]);
  const ticks = Array.from({ length: 5 }, (_, i) => d.start + (span * i) / 4).map((t, i) =>
    s("text", { class: "axis", x: x(t), y: H - 8, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, formatTime(new Date(t).toISOString()).slice(5, 16)),
  );

  const bars = d.buckets.flatMap((b) => {
    let base = 0;
    return b.shares.map((sh) => {
      const i = d.variants.indexOf(sh.variant);
      const rect = s(
        "rect",
        { class: `share v${i % 4}`, x: x(b.t), width: Math.max(1, x(b.t + b.width) - x(b.t) - 1), y: y(base + sh.pct), height: Math.max(0, y(base) - y(base + sh.pct)) },
        title(`${formatTime(new Date(b.t).toISOString())}: ${sh.variant} ${pct(sh.pct)} (${sh.count} of ${b.total})`),
      );
      base += sh.pct;
      return rect;
    });
  });

  const due = d.milestones.filter((m) => m.dueTime !== undefined).sort((a, b) => Date.parse(a.dueTime!) - Date.parse(b.dueTime!));
  let path = `M${x(d.start)},${y(d.initial)}`;
  let last = d.initial;
  for (const m of due) {
    const t = Date.parse(m.dueTime!);
    const p = m.percentage ?? 0;
    path += d.ramp ? ` L${x(t)},${y(p)}` : ` L${x(t)},${y(last)} L${x(t)},${y(p)}`;
    last = p;
  }
  path += ` L${x(d.end)},${y(last)}`;
  let ring = "";
  const points = due.map((m) => {
    const t = Date.parse(m.dueTime!);
    const newRing = m.ring && m.ring !== ring ? m.ring : undefined;
    if (m.ring) ring = m.ring;
    return [
      s("circle", { class: m.reached ? "milestone reached" : "milestone", cx: x(t), cy: y(m.percentage ?? 0), r: 4.5 }, title(`${m.description ?? `milestone ${m.index}`}: ${pct(m.percentage ?? 0)}${m.ring ? `, ring ${m.ring}` : ""}, ${m.reached ? "reached" : "due"} ${formatTime(m.dueTime)}`)),
      newRing ? s("text", { class: "ring", x: x(t), y: y(m.percentage ?? 0) - 9, "text-anchor": "middle" }, newRing) : null,
    ];
  });

  const line = (key: "canary" | "stable") => {
    const pts = d.health.filter((p) => p[key] !== undefined);
    return pts.length === 0 ? null : s("polyline", { class: `rate ${key}`, points: pts.map((p) => `${x(p.t)},${ey(p[key]!)}`).join(" ") });
  };
  const bad = d.health
    .filter((p) => p.verdict === "VERDICT_FAILING" || p.verdict === "VERDICT_BREACHED")
    .map((p) => s("circle", { class: `verdict ${p.verdict === "VERDICT_BREACHED" ? "breached" : "failing"}`, cx: x(p.t), cy: ey(p.canary ?? 0), r: 3.5 }, title(`${p.check}: ${p.verdict.replace("VERDICT_", "").toLowerCase()} at ${formatTime(new Date(p.t).toISOString())}`)));

  const marks = d.marks.map((m) => [
    s("line", { class: "mark", x1: x(m.t), x2: x(m.t), y1: TOP - 6, y2: ERR_BOTTOM }, title(m.title)),
    s("text", { class: "mark-label", x: x(m.t) + 3, y: TOP - 10 }, m.label),
  ]);
  const now = d.now >= d.start && d.now <= d.end ? [s("line", { class: "now", x1: x(d.now), x2: x(d.now), y1: TOP, y2: ERR_BOTTOM }), d.current !== undefined ? s("circle", { class: "current", cx: x(d.now), cy: y(d.current), r: 5 }, title(`now: ${pct(d.current)}`)) : null] : [];

  return s(
    "svg",
    { class: "rollout-chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": labelId, preserveAspectRatio: "xMidYMid meet" },
    grid,
    s("text", { class: "axis", x: LEFT, y: ERR_TOP - 6 }, `error rate (0–${pct(maxRate * 100)})`),
    s("line", { class: "grid", x1: LEFT, x2: RIGHT, y1: ERR_BOTTOM, y2: ERR_BOTTOM }),
    s("line", { class: "grid", x1: LEFT, x2: RIGHT, y1: ERR_TOP, y2: ERR_TOP }),
    bars,
    s("path", { class: "plan", d: path }),
    points,
    line("stable"),
    line("canary"),
    bad,
    now,
    marks,
    ticks,
  );
}

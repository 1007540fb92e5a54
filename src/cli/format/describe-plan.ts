import type { RolloutPlan } from "../../gen/ctm/v1/rollout.js";
import { formatDuration } from "../parse/parse-duration.js";
import { compactJson, formatTime, percent } from "./format-values.js";

/** One line saying what a plan does: "ramp 0% -> 100% over 3d; early adopters alice; rings dev -> prod". */
export function describePlan(p: RolloutPlan): string {
  const parts: string[] = [];
  const pc = p.percentage;
  if (pc?.$case === "steps") {
    const s = pc.value;
    parts.push(`steps ${percent(s.start)} -> ${percent(s.target)}, ${s.increment > 0 ? "+" : ""}${s.increment}% every ${formatDuration(s.interval)}`);
  } else if (pc?.$case === "ramp") {
    const r = pc.value;
    const span = r.duration ? `over ${formatDuration(r.duration)}` : "";
    parts.push(`ramp ${percent(r.from)} -> ${percent(r.to)} ${span}${r.endTime ? ` until ${formatTime(r.endTime)}` : ""}`.trim());
  }
  if (p.rings?.order.length) parts.push(`rings ${p.rings.order.join(" -> ")}${p.rings.interval ? ` every ${formatDuration(p.rings.interval)}` : " (promoted by hand)"}`);
  if (p.earlyAdopters.length) parts.push(`early adopters ${p.earlyAdopters.join(", ")}`);
  if (p.rules.length) parts.push(`${p.rules.length} rule${p.rules.length > 1 ? "s" : ""}`);
  if (p.pinned.length) parts.push(`${p.pinned.length} pinned`);
  if (p.variants.length) parts.push(`variants ${p.variants.map((v) => `${v.name}=${v.weight}`).join(", ")}`);
  if (p.interpolate) parts.push("interpolated");
  if (p.activateAt) parts.push(`from ${formatTime(p.activateAt)}`);
  parts.push(`stable ${compactJson(p.stable, 40)}`);
  return parts.join("; ");
}

import { Command } from "commander";
import { StatusResponse, type Milestone } from "../../gen/ctm/v1/rollout_service.js";
import { run } from "../cli-context.js";
import { describePlan } from "../format/describe-plan.js";
import { formatTime, percent } from "../format/format-values.js";
import { renderFields, renderTable } from "../format/render-table.js";

function relative(d: Date | undefined, now = Date.now()): string {
  if (!d) return "";
  const s = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(s);
  const span = abs < 90 ? `${abs}s` : abs < 5400 ? `${Math.round(abs / 60)}m` : abs < 172_800 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86_400)}d`;
  return s >= 0 ? `in ${span}` : `${span} ago`;
}

const milestoneText = (m: Milestone): string => `#${m.index} ${m.description}${m.ring && !m.description.includes(m.ring) ? ` (ring ${m.ring})` : ""}`;

export function rolloutStatusCommand(): Command {
  return new Command("status")
    .description("percentage, ring, state, the next milestone and the milestone table")
    .argument("<key>")
    .action(
      run(async (ctx, [key]) => {
        const r = await ctx.api.status({ key: key! });
        if (ctx.json) return ctx.printJson(StatusResponse.toJSON(r));
        const c = ctx.c;
        const e = r.entry!;
        const plan = e.rollout?.plan;
        const state = !r.active ? c.dim("finished (static)") : r.killed ? c.red("KILLED") : r.paused ? c.yellow("paused") : !r.activated ? "scheduled" : c.green("rolling out");
        const rings = plan?.rings?.order.map((x) => (x === r.ring ? c.bold(`[${x}]`) : x)).join(" -> ");
        const next = r.nextMilestone;
        ctx.print(
          renderFields(
            [
              ["key", `${c.bold(e.key)} v${e.version} (revision ${e.revision})`],
              ["state", state],
              ["percentage", percent(r.percentage)],
              ["ring", rings ? `${r.ring || "-"}  (${rings})` : undefined],
              ["next", next ? `${milestoneText(next)} ${next.dueTime ? `at ${formatTime(next.dueTime)} (${relative(next.dueTime)})` : "(paused)"}` : "-"],
              ["plan", plan ? describePlan(plan) : undefined],
            ],
            c,
          ),
        );
        if (r.milestones.length === 0) return;
        const rows = r.milestones.map((m) => [m.index, m.description, percent(m.percentage), m.ring || "-", formatTime(m.dueTime), m.reached ? c.green("yes") : "no"]);
        ctx.print(renderTable(["#", "milestone", "percentage", "ring", "due", "reached"], rows, c));
      }),
    );
}

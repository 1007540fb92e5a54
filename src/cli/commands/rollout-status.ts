import { Command } from "commander";
import { StatusResponse, type Milestone } from "../../gen/ctm/v1/rollout_service.js";
import { run, type CliContext } from "../cli-context.js";
import type { Colors } from "../format/colors.js";
import { describePlan } from "../format/describe-plan.js";
import { formatTime, percent } from "../format/format-values.js";
import { relativeTime } from "../format/relative-time.js";
import { renderFields, renderTable } from "../format/render-table.js";
import { stoppedRollout, type StoppedRollout } from "../format/stopped-rollout.js";

const milestoneText = (m: Milestone): string => `#${m.index} ${m.description}${m.ring && !m.description.includes(m.ring) ? ` (ring ${m.ring})` : ""}`;

/** The record before the current one, which carried the rollout that the current one ended. */
async function previous(ctx: CliContext, r: StatusResponse) {
  const e = r.entry!;
  if (r.active || e.version <= 1) return undefined;
  const h = await ctx.api.history({ key: e.key, limit: 2, pageToken: "" });
  return h.entries.find((x) => x.version === e.version - 1);
}

/** "aborted by oncall", "rolled back by health check checkout-errors", "finalized". */
function stateOf(s: StoppedRollout, c: Colors): string {
  const when = s.at ? ` at ${formatTime(s.at)} (${relativeTime(s.at)})` : "";
  switch (s.how) {
    case "aborted":
      return `${c.red("aborted")} by ${s.by}${when}`;
    case "auto_rollback":
      return `${c.red("rolled back")} by ${s.check !== undefined ? `health check ${s.check}` : s.by}${when}`;
    case "rolled_back":
      return `${c.red("rolled back")} to version ${s.rolledBackTo} by ${s.by}${when}`;
    case "finalized":
      return `${c.dim("finished")} (finalized${when})`;
  }
}

/** Where it stopped: "33.333% (ring staging); now the stable value for everyone". */
function stoppedAt(s: StoppedRollout): string {
  if (s.how === "finalized") return "the plan completed: the value is static now";
  const where = s.percentage === undefined ? "stopped" : `stopped at ${percent(s.percentage)}${s.ring ? ` (ring ${s.ring})` : ""}`;
  return `${where}; the restored value is static for everyone now`;
}

export function rolloutStatusCommand(): Command {
  return new Command("status")
    .description("percentage, ring, state, the next milestone and the milestone table; after an abort or rollback, who stopped it and where")
    .argument("<key>")
    .action(
      run(async (ctx, [key]) => {
        const r = await ctx.api.status({ key: key! });
        const e = r.entry!;
        const stopped = r.active ? undefined : stoppedRollout(e, await previous(ctx, r));
        if (ctx.json) {
          const stop = stopped && { ...stopped, at: stopped.at?.toISOString() };
          return ctx.printJson({ ...(StatusResponse.toJSON(r) as object), ...(stop ? { stopped: stop } : {}) });
        }
        const c = ctx.c;
        const plan = e.rollout?.plan;
        const state = stopped
          ? stateOf(stopped, c)
          : !r.active
            ? c.dim("static (no rollout)")
            : r.killed
              ? c.red("KILLED")
              : r.paused
                ? c.yellow("paused")
                : !r.activated
                  ? "scheduled"
                  : c.green("rolling out");
        const rings = plan?.rings?.order.map((x) => (x === r.ring ? c.bold(`[${x}]`) : x)).join(" -> ");
        const next = r.nextMilestone;
        ctx.print(
          renderFields(
            [
              ["key", `${c.bold(e.key)} v${e.version} (revision ${e.revision})`],
              ["state", state],
              ["reason", stopped && stopped.how !== "finalized" && stopped.message ? stopped.message : undefined],
              ["percentage", stopped ? stoppedAt(stopped) : r.active ? percent(r.percentage) : "-"],
              ["ring", rings ? `${r.ring || "-"}  (${rings})` : undefined],
              ["next", r.active ? (next ? `${milestoneText(next)} ${next.dueTime ? `at ${formatTime(next.dueTime)} (${relativeTime(next.dueTime)})` : "(paused)"}` : "-") : undefined],
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

import type { Entry } from "../../gen/ctm/v1/record.js";
import type { Reason } from "../../gen/ctm/v1/rollout.js";
import type { CliContext } from "../cli-context.js";
import { describePlan } from "./describe-plan.js";
import { formatTime, kindName, prettyJson, reasonName } from "./format-values.js";
import { renderFields } from "./render-table.js";
import { who } from "./who.js";

/** What a unit was served, when a context was given. */
export interface Served {
  value?: unknown;
  variant: string;
  reason: Reason;
}

/** An entry as aligned fields: key, version, time, author, message, rollout, value (and what a unit was served). */
export function printEntry(ctx: CliContext, e: Entry, served?: Served, extra: [string, string][] = []): void {
  const c = ctx.c;
  const plan = e.rollout?.plan;
  ctx.print(
    renderFields(
      [
        ["key", c.bold(e.key)],
        ["version", `${e.version} (revision ${e.revision})`],
        ...extra,
        ["kind", kindName(e.kind) + (e.rolledBackTo ? ` to version ${e.rolledBackTo}` : "") + (e.breakGlass ? c.red(" (break glass: written past a protection policy)") : "")],
        ["time", formatTime(e.time)],
        ["author", who(e) + (e.cause && e.cause !== "api" ? ` (${e.cause})` : "")],
        ["message", e.message || undefined],
        ["rollout", plan ? c.yellow(describePlan(plan)) : undefined],
        ["value", e.deleted ? c.red("(deleted)") : e.valueCompacted ? c.dim("(value compacted)") : prettyJson(e.value)],
        ["served", served ? `${c.green(prettyJson(served.value))}  ${c.dim(`${served.variant} (${reasonName(served.reason)})`)}` : undefined],
      ],
      c,
    ),
  );
}

/** One line for a written entry: "set db.pool_size v4 (revision 17)". */
export function printWritten(ctx: CliContext, verb: string, e: Entry): void {
  ctx.print(`${ctx.c.green("✓")} ${verb} ${ctx.c.bold(e.key)} v${e.version} (revision ${e.revision})`);
}

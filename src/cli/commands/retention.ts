import { Command, Option } from "commander";
import { GetRetentionResponse } from "../../gen/ctm/v1/admin_service.js";
import { SetResponse, DeleteResponse } from "../../gen/ctm/v1/config_service.js";
import { HOLD_PREFIX, RETENTION_PREFIX } from "../../domain/retention/retention-keys.js";
import { run } from "../cli-context.js";
import { formatDuration, parseDurationMs } from "../parse/parse-duration.js";
import { parseCount } from "../parse/parse-numbers.js";
import { formatTime } from "../format/format-values.js";
import { renderTable } from "../format/render-table.js";

const collect = (v: string, all: string[] = []): string[] => [...all, v];

/** `ctm retention set|list|delete|hold|release`: the documents under _ctm/retention/ and _ctm/holds/. */
export function retentionCommand(): Command {
  const cmd = new Command("retention").description("how long superseded versions are kept: set, list, delete a policy; hold and release keys");
  cmd.addCommand(
    new Command("set")
      .description("keep superseded versions of some keys for an age and/or keep the last N versions (and the audit trail for longer)")
      .argument("<name>")
      .requiredOption("--keys <glob>", "keys it covers (* within a segment, ** across); repeat for more", collect)
      .addOption(new Option("--keep-versions <n>", "keep the values of each key's last N versions, the current one included").argParser(parseCount))
      .addOption(new Option("--keep-for <duration>", "keep a superseded value this long (30d, 12h, 0s)").argParser(durationOrZero))
      .addOption(new Option("--keep-audit-for <duration>", "then keep who, when, why and kind this long (default: forever)").argParser(durationOrZero))
      .option("--description <text>", "what it is for")
      .action(
        run<{ keys: string[]; keepVersions?: number; keepFor?: number; keepAuditFor?: number; description?: string }>(async (ctx, [name], o) => {
          const value = {
            keys: o.keys,
            ...(o.keepVersions !== undefined ? { keepVersions: o.keepVersions } : {}),
            ...(o.keepFor !== undefined ? { keepForMs: o.keepFor } : {}),
            ...(o.keepAuditFor !== undefined ? { keepAuditForMs: o.keepAuditFor } : {}),
            ...(o.description ? { description: o.description } : {}),
          };
          const r = await ctx.api.set({ key: RETENTION_PREFIX + name, value, author: ctx.author });
          if (ctx.json) return ctx.printJson(SetResponse.toJSON(r));
          ctx.print(`${ctx.c.green("set")} retention policy ${ctx.c.bold(name!)} (version ${r.entry!.version}); it applies at the next compaction (ctm compact runs one now)`);
        }),
      ),
  );
  cmd.addCommand(
    new Command("list").description("the horizon, the policies and the holds in force").action(
      run(async (ctx) => {
        const r = await ctx.api.getRetention({});
        if (ctx.json) return ctx.printJson(GetRetentionResponse.toJSON(r));
        ctx.print(`oldest revision served: ${ctx.c.bold(String(r.oldestRevision))}${r.oldestTime ? ` (${formatTime(r.oldestTime)})` : ""}`);
        if (r.policies.length === 0) ctx.print(ctx.c.dim("no retention policy: every version is kept"));
        else {
          const rows = r.policies.map((p) => [ctx.c.bold(p.name), p.keys.join("\n"), p.keepVersions || "-", p.keepFor ? formatDuration(p.keepFor) : "-", p.keepAuditFor ? formatDuration(p.keepAuditFor) : "forever"]);
          ctx.print(renderTable(["policy", "keys", "keep versions", "keep values for", "keep audit for"], rows, ctx.c));
        }
        if (r.holds.length > 0) ctx.print(renderTable(["hold", "keys", "reason"], r.holds.map((h) => [ctx.c.bold(h.name), h.keys.join("\n"), h.reason]), ctx.c));
      }),
    ),
  );
  cmd.addCommand(
    new Command("delete")
      .description("remove a policy (what it let go stays gone)")
      .argument("<name>")
      .action(
        run(async (ctx, [name]) => {
          const r = await ctx.api.delete({ key: RETENTION_PREFIX + name, author: ctx.author });
          if (ctx.json) return ctx.printJson(DeleteResponse.toJSON(r));
          ctx.print(`${ctx.c.green("deleted")} retention policy ${ctx.c.bold(name!)}`);
        }),
      ),
  );
  cmd.addCommand(
    new Command("hold")
      .description("keep every version of some keys, whatever the policies say (a legal hold, an investigation)")
      .argument("<name>")
      .requiredOption("--keys <glob>", "keys it covers; repeat for more", collect)
      .requiredOption("--reason <text>", "why")
      .action(
        run<{ keys: string[]; reason: string }>(async (ctx, [name], o) => {
          const r = await ctx.api.set({ key: HOLD_PREFIX + name, value: { keys: o.keys, reason: o.reason }, author: ctx.author });
          if (ctx.json) return ctx.printJson(SetResponse.toJSON(r));
          ctx.print(`${ctx.c.green("held")} ${o.keys.join(", ")} (${ctx.c.bold(name!)})`);
        }),
      ),
  );
  cmd.addCommand(
    new Command("release")
      .description("lift a hold")
      .argument("<name>")
      .action(
        run(async (ctx, [name]) => {
          const r = await ctx.api.delete({ key: HOLD_PREFIX + name, author: ctx.author });
          if (ctx.json) return ctx.printJson(DeleteResponse.toJSON(r));
          ctx.print(`${ctx.c.green("released")} hold ${ctx.c.bold(name!)}`);
        }),
      ),
  );
  return cmd;
}

/** A duration, where 0 (0s) is allowed: "drop values as soon as they are superseded". */
function durationOrZero(text: string): number {
  return /^0+(ms|s|m|h|d)?$/.test(text.trim()) ? 0 : parseDurationMs(text);
}

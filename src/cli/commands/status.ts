import { Command } from "commander";
import { GetRetentionResponse } from "../../gen/ctm/v1/admin_service.js";
import { run } from "../cli-context.js";
import { formatTime } from "../format/format-values.js";
import { renderFields } from "../format/render-table.js";

export function statusCommand(): Command {
  return new Command("status").description("the store at a glance: head revision, the oldest revision served (the horizon), the last compaction").action(
    run(async (ctx) => {
      const r = await ctx.api.getRetention({});
      if (ctx.json) return ctx.printJson(GetRetentionResponse.toJSON(r));
      const last = r.lastCompaction;
      ctx.print(
        renderFields(
          [
            ["head revision", String(r.header?.revision ?? 0)],
            ["oldest revision", r.oldestRevision <= 1 ? "1 (the whole history is served)" : `${r.oldestRevision}, written ${formatTime(r.oldestTime)}`],
            ["retention", r.policies.length === 0 ? "no policy: everything is kept" : `${r.policies.length} ${r.policies.length === 1 ? "policy" : "policies"}, ${r.holds.length} ${r.holds.length === 1 ? "hold" : "holds"}`],
            ["last compaction", last ? `${formatTime(last.time)}: ${last.removed} removed, ${last.stripped} values compacted (revision ${last.revision})` : "never"],
            ["compacting now", r.running ? "yes" : undefined],
          ],
          ctx.c,
        ),
      );
    }),
  );
}

import { Command, Option } from "commander";
import { CompactResponse } from "../../gen/ctm/v1/admin_service.js";
import { run } from "../cli-context.js";
import { Progress } from "../format/progress.js";
import { formatTime } from "../format/format-values.js";
import { renderFields } from "../format/render-table.js";

export function compactCommand(): Command {
  return new Command("compact")
    .description("apply the retention policies now (see ctm retention): archive what they let go, then remove it or drop its value")
    .addOption(new Option("-m, --message <text>", "why, recorded on the compaction's record").default(""))
    .action(
      run<{ message: string }>(async (ctx, _args, o) => {
        const progress = new Progress();
        const t0 = Date.now();
        const tick = setInterval(() => progress.update(`compacting… ${Math.round((Date.now() - t0) / 1000)} s`), 500);
        let r: CompactResponse;
        try {
          progress.update("compacting…");
          r = await ctx.api.compact({ author: ctx.author, message: o.message });
        } finally {
          clearInterval(tick);
          progress.done();
        }
        if (ctx.json) return ctx.printJson(CompactResponse.toJSON(r));
        const x = r.compaction!;
        if (x.revision === 0) return ctx.print(ctx.c.dim(`nothing to compact: the oldest revision served stays ${x.horizon}`));
        ctx.print(
          renderFields(
            [
              ["oldest revision", `${x.previousHorizon} → ${ctx.c.bold(String(x.horizon))}`],
              ["since", formatTime(r.header?.oldestTime)],
              ["removed", String(x.removed)],
              ["values compacted", String(x.stripped)],
              ["disk freed", x.bytesFreed > 0 ? `${(x.bytesFreed / 2 ** 20).toFixed(1)} MiB` : undefined],
              ["archive", x.archiveFile || undefined],
              ["sha256", x.archiveSha256 || undefined],
              ["record", `_ctm/compactions at revision ${x.revision}`],
            ],
            ctx.c,
          ),
        );
      }),
    );
}

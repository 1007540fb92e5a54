import { Command, Option } from "commander";
import { SnapshotResponse } from "../../gen/ctm/v1/config_service.js";
import { run } from "../cli-context.js";
import { readSnapshot } from "../read-snapshot.js";
import { compactJson, formatTime } from "../format/format-values.js";
import { renderTable } from "../format/render-table.js";
import { atFromFlags, addAtOptions, type AtFlags } from "../parse/at-options.js";

export function snapshotCommand(): Command {
  const cmd = new Command("snapshot").description("every live key under a prefix, now or at a time or revision").argument("[prefix]", "key prefix", "");
  return addAtOptions(cmd).action(
    run<AtFlags>(async (ctx, [prefix], o) => {
      const r = await readSnapshot(ctx.api.snapshot, prefix ?? "", atFromFlags(o));
      if (ctx.json) return ctx.printJson(SnapshotResponse.toJSON(r));
      const rows = r.entries.map((e) => [e.key, compactJson(e.value, 50) + (e.rollout ? " (rolling out)" : ""), e.version, e.revision, formatTime(e.time), e.author]);
      ctx.print(renderTable(["key", "value", "version", "revision", "time", "author"], rows, ctx.c));
      ctx.print(ctx.c.dim(`${r.entries.length} key${r.entries.length === 1 ? "" : "s"} at revision ${r.revision}`));
    }),
  );
}

import { Command, Option } from "commander";
import { BlameResponse } from "../../gen/ctm/v1/config_service.js";
import { run } from "../cli-context.js";
import { compactJson, formatTime } from "../format/format-values.js";
import { renderTable } from "../format/render-table.js";
import { who } from "../format/who.js";

export function blameCommand(): Command {
  return new Command("blame")
    .description("which version last changed each leaf of the current value")
    .argument("<key>")
    .addOption(new Option("--path <pointer>", "only the leaves at or under this JSON Pointer, e.g. /db").default(""))
    .action(
      run<{ path: string }>(async (ctx, [key], o) => {
        const r = await ctx.api.blame({ key: key!, path: o.path });
        if (ctx.json) return ctx.printJson(BlameResponse.toJSON(r));
        const rows = r.lines.map((l) => [l.path || "(value)", compactJson(l.value, 40), l.version, formatTime(l.time), who(l), l.message]);
        ctx.print(renderTable(["path", "value", "version", "time", "author", "message"], rows, ctx.c));
        const last = r.lines[r.lines.length - 1]?.path ?? "";
        if (r.truncated) ctx.note(ctx.ce.dim(`(${r.lines.length} leaves shown, up to ${last}; more follow: narrow with --path)`));
      }),
    );
}

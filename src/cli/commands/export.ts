import { writeFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { run } from "../cli-context.js";
import { readSnapshot } from "../read-snapshot.js";
import { exportDoc } from "../config-doc/export-doc.js";
import { addAtOptions, atFromFlags, type AtFlags } from "../parse/at-options.js";

export function exportCommand(): Command {
  const cmd = new Command("export")
    .description("every live key under a prefix as an import file (slowroll features for ramps with early adopters)")
    .argument("[prefix]", "key prefix", "")
    .addOption(new Option("-o, --output <file>", "write to this file instead of stdout"));
  return addAtOptions(cmd).action(
    run<AtFlags & { output?: string }>(async (ctx, [prefix], o) => {
      const r = await readSnapshot(ctx.api.snapshot, prefix ?? "", atFromFlags(o));
      const doc = exportDoc(r.entries);
      const text = `${JSON.stringify(doc, null, 2)}\n`;
      if (!o.output) return void process.stdout.write(text);
      await writeFile(o.output, text);
      const counts = { keys: Object.keys(doc.keys).length, features: Object.keys(doc.features ?? {}).length, rollouts: Object.keys(doc.rollouts ?? {}).length };
      if (ctx.json) return ctx.printJson({ file: o.output, revision: r.revision, ...counts });
      ctx.print(`${ctx.c.green("✓")} exported ${counts.keys} keys, ${counts.features} features, ${counts.rollouts} rollouts at revision ${r.revision} to ${o.output}`);
    }),
  );
}

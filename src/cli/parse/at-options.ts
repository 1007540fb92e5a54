import { Option, type Command } from "commander";
import { parseCount } from "./parse-numbers.js";
import { parseTime } from "./parse-time.js";

export interface AtFlags {
  at?: Date;
  revision?: number;
}

/** --at <time> or --revision <n>: a point in the log (unset: now). */
export const addAtOptions = (cmd: Command): Command =>
  cmd
    .addOption(new Option("--at <time>", 'at this time: RFC 3339 (seconds optional), "now" or "15m ago"').argParser((t) => parseTime(t)).conflicts("revision"))
    .addOption(new Option("--revision <n>", "at this revision").argParser(parseCount));

export function atFromFlags(o: AtFlags): { $case: "time"; value: Date } | { $case: "revision"; value: number } | undefined {
  if (o.at) return { $case: "time", value: o.at };
  if (o.revision !== undefined) return { $case: "revision", value: o.revision };
  return undefined;
}

import { Option, type Command } from "commander";
import { parseCount } from "./parse-numbers.js";

export interface WriteFlags {
  message?: string;
  expectVersion?: number;
}

/** -m/--message and --expect-version (compare-and-set; 0 means "must not exist"). */
export const addWriteOptions = (cmd: Command): Command =>
  cmd
    .addOption(new Option("-m, --message <text>", "why: recorded in the history"))
    .addOption(new Option("--expect-version <n>", "write only if the key is at this version (0: must not exist); else ABORTED").argParser(parseCount));

export const writeFields = (o: WriteFlags) => ({ message: o.message ?? "", expectedVersion: o.expectVersion });

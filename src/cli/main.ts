#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { CommanderError } from "commander";
import { describeError, errorLine, USAGE_EXIT } from "./exit-codes.js";
import { buildProgram, DEFAULT_ADDRESS } from "./program.js";

const version = (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;

const program = buildProgram(version);
let code = 0;
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // commander has printed the message (or the help); 0 for --help and --version.
    code = e.exitCode === 0 ? 0 : USAGE_EXIT;
  } else {
    const d = describeError(e, (program.opts().address as string | undefined) ?? DEFAULT_ADDRESS);
    process.stderr.write(`${errorLine(d.code, d.message)}\n${d.detail ? `${d.detail}\n` : ""}`);
    code = d.code;
  }
}
// Exit once stdout has flushed: open gRPC channels must not keep the process alive.
process.stdout.write("", () => process.exit(code));

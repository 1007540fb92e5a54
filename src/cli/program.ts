import { userInfo } from "node:os";
import { Command, Option } from "commander";
import { accessLogCommand } from "./commands/access-log.js";
import { applyCommand } from "./commands/apply.js";
import { atCommand } from "./commands/at.js";
import { blameCommand } from "./commands/blame.js";
import { deleteCommand } from "./commands/delete.js";
import { diffCommand } from "./commands/diff.js";
import { exportCommand } from "./commands/export.js";
import { getCommand } from "./commands/get.js";
import { healthCommand } from "./commands/health.js";
import { historyCommand } from "./commands/history.js";
import { keysCommand } from "./commands/keys.js";
import { logCommand } from "./commands/log.js";
import { importCommand } from "./commands/import.js";
import { rollbackCommand } from "./commands/rollback.js";
import { rolloutCommand } from "./commands/rollout.js";
import { setCommand } from "./commands/set.js";
import { snapshotCommand } from "./commands/snapshot.js";
import { validateCommand } from "./commands/validate.js";
import { validatorCommand } from "./commands/validator.js";
import { verifyCommand } from "./commands/verify.js";
import { archiveCommand } from "./commands/archive.js";
import { compactCommand } from "./commands/compact.js";
import { crCommand } from "./commands/cr.js";
import { retentionCommand } from "./commands/retention.js";
import { statusCommand } from "./commands/status.js";
import { staleCommand } from "./commands/stale.js";
import { roleCommand, whoamiCommand } from "./commands/role.js";
import { tokenCommand } from "./commands/token.js";
import { watchCommand } from "./commands/watch.js";
import { EXIT_CODES_HELP } from "./exit-codes.js";
import { parseDurationMs } from "./parse/parse-duration.js";

export const DEFAULT_ADDRESS = "127.0.0.1:7411";

function defaultAuthor(): string {
  try {
    return process.env.USER || userInfo().username;
  } catch {
    return "";
  }
}

/** Settings that subcommands added with addCommand do not inherit. */
function everywhere(cmd: Command, f: (c: Command) => void): void {
  f(cmd);
  for (const sub of cmd.commands) everywhere(sub, f);
}

/** The whole `ctm` command line; errors surface as exceptions (exitOverride), main turns them into exit codes. */
export function buildProgram(version: string): Command {
  const program = new Command("ctm")
    .description("ctm: the operator CLI of ctmd, the config time machine (a client of its gRPC API)")
    .version(version)
    .addOption(new Option("--address <host:port>", "ctmd's gRPC address; replicas as IP:port,IP:port (or one dns:///name:port), tried round-robin").env("CTM_ADDRESS").default(DEFAULT_ADDRESS))
    .addOption(new Option("--json", "print responses as JSON (proto JSON field names) for scripts"))
    .addOption(new Option("--author <name>", "recorded as the author of writes").env("CTM_AUTHOR").default(defaultAuthor(), "$USER"))
    .addOption(
      new Option("--timeout <duration>", "deadline of each call (30s, 2m, 500ms)").env("CTM_TIMEOUT").argParser(parseDurationMs).default(30_000, "30s"),
    )
    .addOption(new Option("--token <token>", "bearer token for ctmd with auth on (prefer CTM_TOKEN: a flag shows in ps)").env("CTM_TOKEN"))
    .addOption(new Option("--break-glass <reason>", "write keys a protection policy covers without a change request (needs the break_glass right; the records are marked, counted and logged)"))
    .addOption(new Option("--cacert <file>", "TLS: verify ctmd's certificate with this PEM CA").env("CTM_CACERT"))
    // Not --key: access-log, validator list and health list have a --key of their own.
    .addOption(new Option("--cert <file>", "mTLS: present this PEM client certificate (with --cert-key; TLS even without --cacert)").env("CTM_CERT"))
    .addOption(new Option("--cert-key <file>", "mTLS: the PEM private key of --cert").env("CTM_CERT_KEY"))
    .addOption(new Option("--no-color", "no colors (also: NO_COLOR, or stdout not a terminal)"))
    .addHelpText("after", EXIT_CODES_HELP);
  const groups: [string, Command[]][] = [
    ["Keys:", [getCommand(), setCommand(), deleteCommand(), watchCommand(), keysCommand()]],
    ["History and time travel:", [historyCommand(), logCommand(), diffCommand(), blameCommand(), rollbackCommand(), atCommand(), snapshotCommand()]],
    ["Whole configs:", [applyCommand(), importCommand(), exportCommand()]],
    ["Rollouts:", [rolloutCommand()]],
    ["Safety:", [validatorCommand(), validateCommand(), healthCommand(), accessLogCommand()]],
    ["Change requests:", [crCommand()]],
    ["The store:", [statusCommand(), verifyCommand(), retentionCommand(), compactCommand(), archiveCommand(), staleCommand()]],
    ["Access:", [tokenCommand(), roleCommand(), whoamiCommand()]],
  ];
  for (const [heading, cmds] of groups) for (const cmd of cmds) program.addCommand(cmd.helpGroup(heading));
  everywhere(program, (c) => c.exitOverride().showHelpAfterError("(run with --help for usage)"));
  return program;
}

import { Command } from "commander";
import { rolloutControlCommands } from "./rollout-controls.js";
import { rolloutExplainCommand } from "./rollout-explain.js";
import { rolloutStatusCommand } from "./rollout-status.js";

/** `ctm rollout status|pause|resume|promote|abort|kill|explain <key>`: the RolloutService. */
export function rolloutCommand(): Command {
  const cmd = new Command("rollout").description("inspect and control a key's rollout");
  for (const sub of [rolloutStatusCommand(), ...rolloutControlCommands(), rolloutExplainCommand()]) cmd.addCommand(sub);
  return cmd;
}

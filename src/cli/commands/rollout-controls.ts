import { Command, Option } from "commander";
import { AbortResponse, KillResponse, PauseResponse, PromoteResponse, PromoteTarget, ResumeResponse } from "../../gen/ctm/v1/rollout_service.js";
import type { Entry } from "../../gen/ctm/v1/record.js";
import { run, type CliContext } from "../cli-context.js";
import { printWritten } from "../format/print-entry.js";
import { addWriteOptions, writeFields, type WriteFlags } from "../parse/write-options.js";

type Fields = ReturnType<typeof writeFields> & { key: string; author: string };
interface Control {
  name: string;
  description: string;
  verb: string;
  call: (ctx: CliContext, req: Fields, o: { finish?: boolean }) => Promise<{ entry?: Entry | undefined }>;
  toJSON: (r: never) => unknown;
}

const CONTROLS: Control[] = [
  { name: "pause", description: "freeze the plan's clock: percentages and rings stop moving", verb: "paused", call: (ctx, r) => ctx.api.pause(r), toJSON: PauseResponse.toJSON },
  { name: "resume", description: "restart the clock where it stopped; also lifts a kill switch", verb: "resumed", call: (ctx, r) => ctx.api.resume(r), toJSON: ResumeResponse.toJSON },
  {
    name: "promote",
    description: "jump to the next step or ring; --finish makes the new value static",
    verb: "promoted",
    call: (ctx, r, o) => ctx.api.promote({ ...r, target: o.finish ? PromoteTarget.PROMOTE_TARGET_FINISH : PromoteTarget.PROMOTE_TARGET_NEXT }),
    toJSON: PromoteResponse.toJSON,
  },
  { name: "abort", description: "end the rollout: the stable value becomes the static value", verb: "aborted", call: (ctx, r) => ctx.api.abort(r), toJSON: AbortResponse.toJSON },
  { name: "kill", description: "kill switch: everyone gets the stable value now (resume undoes it)", verb: "killed", call: (ctx, r) => ctx.api.kill(r), toJSON: KillResponse.toJSON },
];

/** pause, resume, promote [--finish], abort and kill: each appends a record with its author. */
export function rolloutControlCommands(): Command[] {
  return CONTROLS.map((k) => {
    const cmd = new Command(k.name).description(k.description).argument("<key>");
    if (k.name === "promote") cmd.addOption(new Option("--finish", "finish the rollout: the new value becomes static"));
    return addWriteOptions(cmd).action(
      run<WriteFlags & { finish?: boolean }>(async (ctx, [key], o) => {
        const r = await k.call(ctx, { key: key!, author: ctx.author, ...writeFields(o) }, o);
        if (ctx.json) return ctx.printJson(k.toJSON(r as never));
        printWritten(ctx, `${k.verb}`, r.entry!);
      }),
    );
  });
}

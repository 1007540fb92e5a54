import { status, type ServiceError } from "@grpc/grpc-js";
import { Command, Option } from "commander";
import { WatchStatus } from "../../gen/ctm/v1/config_service.js";
import { Entry } from "../../gen/ctm/v1/record.js";
import type { CliContext } from "../cli-context.js";
import { run } from "../cli-context.js";
import { describeError, errorLine } from "../exit-codes.js";
import { compactJson, formatTime, kindLabel } from "../format/format-values.js";
import { parseCount, parsePositive } from "../parse/parse-numbers.js";
import { who } from "../format/who.js";

/**
 * The resume rule every ctm client follows (the TypeScript SDK, Python, Go): a stream that
 * breaks with one of these codes is reopened from the last revision seen + 1, after
 * min(max, initial * 2^attempt) of which half is random; any other code ends the watch.
 */
export const RESUMABLE: ReadonlySet<number> = new Set([status.UNAVAILABLE, status.CANCELLED, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED, status.ABORTED, status.INTERNAL, status.UNKNOWN]);
export const WATCH_BACKOFF = { initialBackoffMs: 100, maxBackoffMs: 5_000, multiplier: 2, jitter: 0.5 } as const;

const delayFor = (attempt: number): number => {
  const base = Math.min(WATCH_BACKOFF.maxBackoffMs, WATCH_BACKOFF.initialBackoffMs * WATCH_BACKOFF.multiplier ** attempt);
  return base * (1 - WATCH_BACKOFF.jitter) + base * WATCH_BACKOFF.jitter * Math.random();
};

interface WatchFlags {
  prefix?: boolean;
  from?: number;
  count?: number;
}

function line(ctx: CliContext, e: Entry): string {
  const c = ctx.c;
  const what = e.deleted ? c.red("(deleted)") : compactJson(e.value, 80);
  const note = [who(e), e.message && `"${e.message}"`].filter(Boolean).join(" ");
  return `${c.dim(`#${e.revision}`)} ${formatTime(e.time)} ${c.yellow(kindLabel(e).padEnd(8))} ${c.bold(e.key)} v${e.version} ${what} ${c.dim(note)}`.trimEnd();
}

/** One stream until it ends; resolves the next revision to ask for and whether --count was reached. */
function stream(ctx: CliContext, key: string, o: WatchFlags, next: number, seen: { n: number }, stop: { cancel?: () => void }, onOpen: () => void) {
  return new Promise<{ next: number; done: boolean; error?: ServiceError }>((resolve) => {
    const call = ctx.api.watch({ key, prefix: o.prefix === true || key === "", startRevision: next });
    let done = false;
    stop.cancel = () => {
      done = true;
      call.cancel();
    };
    call.on("data", (r) => {
      if (r.status === WatchStatus.WATCH_STATUS_CREATED) {
        if (next === 0) next = (r.header?.revision ?? 0) + 1;
        onOpen();
      }
      // A heartbeat: every matching event up to its revision has been sent.
      if (r.status === WatchStatus.WATCH_STATUS_PROGRESS && next > 0) next = Math.max(next, (r.header?.revision ?? 0) + 1);
      for (const e of r.events) {
        if (done) break;
        ctx.print(ctx.json ? JSON.stringify(Entry.toJSON(e)) : line(ctx, e));
        next = e.revision + 1;
        if (o.count !== undefined && ++seen.n >= o.count) stop.cancel!();
      }
    });
    call.on("error", (error: ServiceError) => resolve({ next, done, error: done && error.code === status.CANCELLED ? undefined : error }));
    call.on("end", () => resolve({ next, done }));
  });
}

export function watchCommand(): Command {
  return new Command("watch")
    .description("stream changes of a key or prefix until Ctrl-C, resuming after disconnects without gaps")
    .argument("[key]", "a key, or a prefix with --prefix (none: everything)", "")
    .addOption(new Option("-p, --prefix", "watch every key under <key>"))
    .addOption(new Option("--from <revision>", "start at this revision (default: from now on)").argParser(parseCount))
    .addOption(new Option("--count <n>", "exit after this many events").argParser(parsePositive))
    .addHelpText("after", "\nWith --json, one Entry (proto JSON) per line.")
    .action(
      run<WatchFlags>(async (ctx, [key], o) => {
        const stop: { cancel?: () => void } = {};
        const seen = { n: 0 };
        let interrupted = false;
        const onSignal = () => {
          interrupted = true;
          stop.cancel?.();
        };
        process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
        let next = o.from ?? 0;
        let attempt = 0;
        let opened = false;
        const onOpen = () => {
          opened = true;
          if (attempt > 0) ctx.note(ctx.ce.dim(`ctm: watch: reconnected at revision ${next}`));
          attempt = 0;
        };
        try {
          for (;;) {
            const r = await stream(ctx, key ?? "", o, next, seen, stop, onOpen);
            next = r.next;
            if (r.done || interrupted) return;
            // A daemon that was never reached is an error (exit 14); one that went away is waited for.
            if (r.error && (!opened || !RESUMABLE.has(r.error.code))) throw r.error;
            if (attempt === 0) {
              const d = r.error ? describeError(r.error, ctx.opts.address) : undefined;
              const why = d ? errorLine(d.code, d.message) : "ctm: the stream ended";
              ctx.note(ctx.ce.dim(`${why}; reconnecting from revision ${next || "now"}…`));
            }
            const delay = delayFor(attempt++);
            await new Promise<void>((res) => {
              const t = setTimeout(res, delay);
              stop.cancel = () => (clearTimeout(t), res());
            });
            if (interrupted) return;
          }
        } finally {
          process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
        }
      }),
    );
}

import type { Command } from "commander";
import { clientCredentials, type ClientTlsOptions } from "./client-tls.js";
import { ctmClient, type CtmClient } from "./ctm-client.js";
import { colorsFor, type Colors } from "./format/colors.js";
import { violationsError, violationsOf, type RulesOf } from "./format/violations.js";

/** The global options every command sees. */
export interface GlobalOptions extends ClientTlsOptions {
  address: string;
  /** A bearer token for ctmd with auth on. */
  token?: string;
  /** Why the caller writes past protection policies (sent as the ctm-break-glass header). */
  breakGlass?: string;
  json?: boolean;
  author: string;
  /** Milliseconds. */
  timeout: number;
  color: boolean;
}

/** What a command runs with: the options, the API client, and stdout/stderr with their colors. */
export class CliContext {
  /** Colors for stdout and for stderr. */
  readonly c: Colors;
  readonly ce: Colors;
  private client: CtmClient | undefined;

  constructor(readonly opts: GlobalOptions) {
    this.c = colorsFor(process.stdout, opts.color);
    this.ce = colorsFor(process.stderr, opts.color);
  }

  get api(): CtmClient {
    return (this.client ??= ctmClient(this.opts.address, this.opts.timeout, clientCredentials(this.opts), this.opts.token, this.opts.breakGlass));
  }

  get json(): boolean {
    return this.opts.json === true;
  }

  get author(): string {
    return this.opts.author;
  }

  /** The terminal's width, when stdout is one. */
  get width(): number | undefined {
    return process.stdout.isTTY && process.stdout.columns > 0 ? process.stdout.columns : undefined;
  }

  print(text = ""): void {
    process.stdout.write(`${text}\n`);
  }

  printJson(v: unknown): void {
    this.print(JSON.stringify(v, null, 2));
  }

  /** A note for people on stderr (never mixed into machine output). */
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  close(): void {
    this.client?.close();
  }

  /**
   * A write refused by validators becomes an error listing the violations (on stderr, after the
   * one line), each with the rule it broke: `rulesOf` knows them, or ListValidators is asked.
   * Any other error is returned as it is.
   */
  async explainViolations(e: unknown, rulesOf?: RulesOf): Promise<unknown> {
    if (!violationsOf(e)) return e;
    if (!rulesOf && !this.json) {
      const known = await this.api.listValidators({ key: "" }).then(
        (r) => new Map(r.validators.map((v) => [v.name, v.rules])),
        () => new Map(),
      );
      rulesOf = (name) => known.get(name);
    }
    return violationsError(e, this.ce, this.json, rulesOf) ?? e;
  }
}

/**
 * A commander action running with a CliContext: positional arguments, then this
 * command's own options. The context's client is closed afterwards.
 */
export function run<O = Record<string, unknown>>(fn: (ctx: CliContext, args: string[], opts: O, cmd: Command) => Promise<void>) {
  return async (...raw: unknown[]): Promise<void> => {
    const cmd = raw.at(-1) as Command;
    const ctx = new CliContext(cmd.optsWithGlobals() as GlobalOptions);
    try {
      await fn(ctx, raw.slice(0, -2) as string[], cmd.opts() as O, cmd);
    } catch (e) {
      throw await ctx.explainViolations(e);
    } finally {
      ctx.close();
    }
  };
}

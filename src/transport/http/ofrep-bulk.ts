import type { Clock } from "../../domain/clock.js";
import { CtmError } from "../../domain/errors.js";
import { checkPrefix } from "../../domain/limits.js";
import { RESERVED_PREFIX } from "../../domain/validation/validator.js";
import type { Principal } from "../../service/auth-service.js";
import type { ConfigService } from "../../service/config-service.js";
import type { HttpCall, HttpChain } from "./http-chain.js";
import { clientRequestId, ofrepBody } from "./ofrep-body.js";
import { ofrepContext } from "./ofrep-context.js";
import { OfrepError } from "./ofrep-error.js";
import { bulkTag, matchesTag, type BulkInputs } from "./ofrep-etag.js";
import { evaluateFlag } from "./ofrep-evaluation.js";
import type { OfrepAnswers } from "./ofrep-answers.js";
import type { OfrepTickets } from "./ofrep-tickets.js";
import { readCheck } from "./ofrep-read-check.js";
import { changesAt } from "./ofrep-validity.js";

/**
 * One bulk answer holds at most `flags` flags and about `answerBytes` of them, from at most
 * `keysLooked` keys listed (a Snapshot page's most): the first ones in key order. Past any of
 * them the answer says `"truncated": true` in its metadata; `?prefix=` narrows it.
 */
export const BULK_LIMITS = { flags: 1000, keysLooked: 10_000, answerBytes: 1024 * 1024 } as const;
const PAGE = 1000;
const COMMA = Buffer.from(",");

/**
 * OFREP's bulk evaluation: every key the caller may read under `?prefix=` (the reserved `_ctm/`
 * documents are not flags), evaluated for one context at one moment. The answer's ETag comes
 * from the revision, the caller, the prefix and the body, so If-None-Match is answered 304
 * before anything is parsed or evaluated. A 200 announces the change-notification stream.
 */
export class OfrepBulk {
  constructor(
    private readonly config: ConfigService,
    private readonly chain: HttpChain,
    private readonly tickets: OfrepTickets,
    private readonly answers: OfrepAnswers,
    private readonly clock: Clock,
  ) {}

  async serve(call: HttpCall): Promise<void> {
    const prefix = prefixOf(call);
    const body = await ofrepBody(this.chain, call);
    this.chain.gate();
    const inputs: BulkInputs = { revision: this.config.headRevision, principal: call.principal?.name ?? "", prefix, body };
    const ifNoneMatch = call.req.headers["if-none-match"];
    if (ifNoneMatch !== undefined) {
      const tag = matchesTag(ifNoneMatch, inputs, this.clock.now());
      if (tag !== undefined) {
        call.res.writeHead(304, { etag: tag, "cache-control": "no-cache" }).end();
        return;
      }
    }
    const ctx = { ...ofrepContext(body), requestId: clientRequestId(call) };
    const { keys, truncated: cut } = await this.readable(call.principal, prefix);
    // From here on synchronous: every flag is evaluated at one moment, on one state of the store.
    const now = this.clock.now();
    const parts: Buffer[] = [];
    let bytes = 0;
    let truncated = cut;
    let until = Infinity;
    for (const key of keys) {
      const out = evaluateFlag(this.config, key, ctx, now);
      // Deleted since it was listed: the answer is what the store holds now.
      if (!out.ok && out.errorCode === "FLAG_NOT_FOUND") continue;
      if (out.record) until = Math.min(until, changesAt(out.record, now));
      const json = out.ok ? this.answers.bytes(out.record, out.resolution) : Buffer.from(JSON.stringify({ key, errorCode: out.errorCode, errorDetails: out.errorDetails }));
      if (parts.length > 0 && bytes + json.length > BULK_LIMITS.answerBytes) {
        truncated = true;
        break;
      }
      parts.push(json);
      bytes += json.length + 1;
    }
    const ticket = this.tickets.issue(this.chain.authOn ? authorizationOf(call) : undefined, prefix);
    const streams = [{ type: "sse", endpoint: { requestUri: `/ofrep/v1/events?ticket=${ticket}` } }];
    const metadata = truncated ? { revision: inputs.revision, truncated: true } : { revision: inputs.revision };
    call.res.writeHead(200, { "content-type": "application/json", etag: bulkTag(inputs, until), "cache-control": "no-cache" });
    const flags = parts.flatMap((p, i) => (i === 0 ? [p] : [COMMA, p]));
    call.res.end(Buffer.concat([Buffer.from('{"flags":['), ...flags, Buffer.from(`],"eventStreams":${JSON.stringify(streams)},"metadata":${JSON.stringify(metadata)}}`)]));
  }

  /** The keys under `prefix` the caller may Get, in key order, within BULK_LIMITS. */
  private async readable(principal: Principal | undefined, prefix: string): Promise<{ keys: string[]; truncated: boolean }> {
    const auth = this.chain.opts.auth;
    const mayRead = auth === undefined || principal === undefined ? () => true : readCheck(principal, auth.context);
    const keys: string[] = [];
    let token = "";
    for (let looked = 0; looked < BULK_LIMITS.keysLooked; looked += PAGE) {
      const page = await this.config.snapshot(prefix, undefined, PAGE, token);
      for (const r of page.records) {
        if (r.key.startsWith(RESERVED_PREFIX) || !mayRead(r.key)) continue;
        if (keys.length === BULK_LIMITS.flags) return { keys, truncated: true };
        keys.push(r.key);
      }
      token = page.nextPageToken;
      if (token === "") return { keys, truncated: false };
    }
    return { keys, truncated: true };
  }
}

/** `?prefix=` scopes the bulk evaluation (a query parameter: a browser sends it without a preflight). */
function prefixOf(call: HttpCall): string {
  const prefix = call.query.get("prefix") ?? "";
  try {
    return checkPrefix(prefix);
  } catch (e) {
    if (e instanceof CtmError) throw new OfrepError(400, "GENERAL", e.message);
    throw e;
  }
}

/** The credentials the chain authenticated this call with, as it read them. */
function authorizationOf(call: HttpCall): string | undefined {
  const header = call.req.headers.authorization;
  const key = call.req.headers["x-api-key"];
  return header !== undefined ? header : typeof key === "string" ? `Bearer ${key}` : undefined;
}

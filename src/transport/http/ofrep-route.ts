import * as grpc from "@grpc/grpc-js";
import type { Clock } from "../../domain/clock.js";
import { CtmError } from "../../domain/errors.js";
import { checkKey } from "../../domain/limits.js";
import type { ConfigService } from "../../service/config-service.js";
import { HttpError, type Failure, type HttpCall, type HttpChain } from "./http-chain.js";
import type { Route } from "./http-face.js";
import { OfrepAnswers } from "./ofrep-answers.js";
import { httpStatusOf } from "./http-status.js";
import { clientRequestId, ofrepBody } from "./ofrep-body.js";
import { OfrepBulk } from "./ofrep-bulk.js";
import { ofrepContext } from "./ofrep-context.js";
import { OfrepError, sendOfrepError } from "./ofrep-error.js";
import { evaluateFlag } from "./ofrep-evaluation.js";
import type { OfrepTickets } from "./ofrep-tickets.js";

const BULK = "/ofrep/v1/evaluate/flags";
const SINGLE = `${BULK}/`;
const GET = "/ctm.v1.ConfigService/Get";
/** Raw header pairs: Node writes them without walking an object. */
const JSON_TYPE = ["content-type", "application/json"];

/**
 * The OpenFeature Remote Evaluation Protocol (0.3.0) over ConfigService's evaluator:
 * `POST /ofrep/v1/evaluate/flags/{key}` evaluates one flag with the access, evaluator and
 * revision of gRPC Get; `POST /ofrep/v1/evaluate/flags` evaluates every flag the caller may
 * read (OfrepBulk). Errors are OFREP's: 400 PARSE_ERROR, INVALID_CONTEXT or
 * TARGETING_KEY_MISSING, 404 FLAG_NOT_FOUND, and the chain's 401, 403 and 429.
 */
export class OfrepRoute implements Route {
  readonly name = "ofrep";
  readonly prefix = "/ofrep/v1/";
  readonly authenticated = true;
  private readonly bulk: OfrepBulk;
  private readonly answers = new OfrepAnswers();

  constructor(
    private readonly config: ConfigService,
    private readonly chain: HttpChain,
    tickets: OfrepTickets,
    private readonly clock: Clock,
  ) {
    this.bulk = new OfrepBulk(config, chain, tickets, this.answers, clock);
  }

  handle(call: HttpCall): Promise<void> | void {
    try {
      if (call.req.method !== "POST") throw new HttpError(grpc.status.UNIMPLEMENTED, "OFREP evaluations are POSTed", { allow: "POST" });
      const path = call.path;
      if (path === BULK) return this.bulk.serve(call).catch((e: unknown) => this.failedOfrep(call, e));
      if (path.startsWith(SINGLE)) return this.single(call, keyOf(path));
      throw new OfrepError(404, "GENERAL", `OFREP serves POST ${BULK} and ${SINGLE}{key}`);
    } catch (e) {
      this.failedOfrep(call, e);
    }
  }

  /** OFREP's own errors are answered here; the chain's (auth, gate, limits) go on to `fail`. */
  private failedOfrep(call: HttpCall, e: unknown): void {
    if (!(e instanceof OfrepError)) throw e;
    sendOfrepError(call.res, e.status, e.errorCode, e.message, singleKey(call));
  }

  fail(call: HttpCall, f: Failure): void {
    const status = f.code === grpc.status.UNIMPLEMENTED ? 405 : httpStatusOf(f.code);
    sendOfrepError(call.res, status, f.code === grpc.status.NOT_FOUND ? "FLAG_NOT_FOUND" : "GENERAL", f.message, singleKey(call), f.headers);
  }

  private single(call: HttpCall, key: string): Promise<void> {
    // Checked before authorization: a key that cannot exist is not found for anyone, and the
    // grants never match a path-sized string.
    try {
      checkKey(key);
    } catch (e) {
      if (e instanceof CtmError) throw new OfrepError(404, "FLAG_NOT_FOUND", e.message);
      throw e;
    }
    // One promise, the body's: the rest is synchronous.
    return ofrepBody(this.chain, call).then(
      (body) => {
        try {
          this.answer(call, key, body);
        } catch (e) {
          this.failedOfrep(call, e);
        }
      },
      (e: unknown) => this.failedOfrep(call, e),
    );
  }

  private answer(call: HttpCall, key: string, body: Buffer): void {
    const ctx = { ...ofrepContext(body), requestId: clientRequestId(call) };
    this.chain.gate();
    this.chain.authorize(call, GET, { key });
    const out = evaluateFlag(this.config, key, ctx, this.clock.now());
    if (!out.ok) return sendOfrepError(call.res, out.status, out.errorCode, out.errorDetails, key);
    call.res.writeHead(200, JSON_TYPE).end(this.answers.bytes(out.record, out.resolution));
  }
}

/** A key in the path, percent-encoded or not (providers differ: "a/b" and "a%2Fb" both name key a/b). */
function keyOf(path: string): string {
  try {
    return decodeURIComponent(path.slice(SINGLE.length));
  } catch {
    throw new OfrepError(400, "PARSE_ERROR", "the flag key in the path is not valid percent-encoding");
  }
}

/** The key a single evaluation names, for its error body; undefined for bulk and for what cannot be decoded. */
function singleKey(call: HttpCall): string | undefined {
  const path = call.path;
  if (!path.startsWith(SINGLE)) return undefined;
  try {
    return decodeURIComponent(path.slice(SINGLE.length));
  } catch {
    return path.slice(SINGLE.length);
  }
}

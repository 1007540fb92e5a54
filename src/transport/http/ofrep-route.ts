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

  async handle(call: HttpCall): Promise<void> {
    try {
      if (call.req.method !== "POST") throw new HttpError(grpc.status.UNIMPLEMENTED, "OFREP evaluations are POSTed", { allow: "POST" });
      const path = rawPath(call);
      if (path === BULK) return await this.bulk.serve(call);
      if (path.startsWith(SINGLE)) return await this.single(call, keyOf(path));
      throw new OfrepError(404, "GENERAL", `OFREP serves POST ${BULK} and ${SINGLE}{key}`);
    } catch (e) {
      if (!(e instanceof OfrepError)) throw e;
      sendOfrepError(call.res, e.status, e.errorCode, e.message, singleKey(call));
    }
  }

  fail(call: HttpCall, f: Failure): void {
    const status = f.code === grpc.status.UNIMPLEMENTED ? 405 : httpStatusOf(f.code);
    sendOfrepError(call.res, status, f.code === grpc.status.NOT_FOUND ? "FLAG_NOT_FOUND" : "GENERAL", f.message, singleKey(call), f.headers);
  }

  private async single(call: HttpCall, key: string): Promise<void> {
    // Checked before authorization: a key that cannot exist is not found for anyone, and the
    // grants never match a path-sized string.
    try {
      checkKey(key);
    } catch (e) {
      if (e instanceof CtmError) throw new OfrepError(404, "FLAG_NOT_FOUND", e.message);
      throw e;
    }
    const ctx = { ...ofrepContext(await ofrepBody(this.chain, call)), requestId: clientRequestId(call) };
    this.chain.gate();
    this.chain.authorize(call, GET, { key });
    const out = evaluateFlag(this.config, key, ctx, this.clock.now());
    if (!out.ok) return sendOfrepError(call.res, out.status, out.errorCode, out.errorDetails, key);
    call.res.writeHead(200, JSON_TYPE).end(this.answers.bytes(out.record, out.resolution));
  }
}

/** The path as sent: URL parsing would resolve "." and ".." segments, which a key may hold. */
const rawPath = (call: HttpCall): string => {
  const url = call.req.url ?? "/";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
};

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
  const path = rawPath(call);
  if (!path.startsWith(SINGLE)) return undefined;
  try {
    return decodeURIComponent(path.slice(SINGLE.length));
  } catch {
    return path.slice(SINGLE.length);
  }
}

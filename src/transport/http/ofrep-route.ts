import * as grpc from "@grpc/grpc-js";
import type { ConfigService } from "../../service/config-service.js";
import { HttpError, type Failure, type HttpCall, type HttpChain } from "./http-chain.js";
import type { Route } from "./http-face.js";

/** The OpenFeature Remote Evaluation Protocol (0.3.0) over ConfigService's evaluator. */
export class OfrepRoute implements Route {
  readonly name = "ofrep";
  readonly prefix = "/ofrep/v1/";
  readonly authenticated = true;

  constructor(
    private readonly config: ConfigService,
    private readonly chain: HttpChain,
  ) {}

  handle(call: HttpCall): Promise<void> {
    void this.config;
    void this.chain;
    return Promise.reject(new HttpError(grpc.status.UNIMPLEMENTED, `${call.url.pathname} is not served yet`));
  }

  fail(call: HttpCall, f: Failure): void {
    call.res.writeHead(501, { "content-type": "application/json", ...f.headers }).end(JSON.stringify({ errorCode: "GENERAL", errorDetails: f.message }));
  }
}

import * as grpc from "@grpc/grpc-js";
import { HttpError, type Failure, type HttpCall } from "./http-chain.js";
import { failText, type Route } from "./http-face.js";

/** The web console's files, shipped in the package, under /ui/. */
export class ConsoleAssets implements Route {
  readonly name = "ui";
  readonly prefix = "/ui/";
  readonly authenticated = false;
  readonly quiet = true;

  handle(call: HttpCall): Promise<void> {
    return Promise.reject(new HttpError(grpc.status.NOT_FOUND, `${call.url.pathname} is not served yet`));
  }

  fail(call: HttpCall, f: Failure): void {
    failText(call, f, 404);
  }
}

import type { Metadata } from "@grpc/grpc-js";
import type { AuthService } from "../../service/auth-service.js";
import type { AccessContext } from "./access-rules.js";
import type { ServerSurfaceCall } from "../tls/peer-principal.js";
import type { FailurePenalty } from "./failure-penalty.js";

/** What the chain needs to authenticate and authorize calls; absent when auth is off. */
export interface CallAuth {
  service: AuthService;
  context: AccessContext;
  /**
   * The verified client certificate's principal (`cert:<subject>`), under mTLS; on the primary's
   * internal socket, the one a worker verified and forwarded in the call's metadata.
   */
  certificateOf?: (call: ServerSurfaceCall, metadata: Metadata) => string | undefined;
  penalty?: FailurePenalty;
}

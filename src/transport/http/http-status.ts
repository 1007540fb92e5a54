import * as grpc from "@grpc/grpc-js";

/**
 * gRPC status codes as the Connect protocol names them and the HTTP status it answers with, so an
 * HTTP client reads the same outcome a gRPC client would (https://connectrpc.com/docs/protocol).
 */
const TABLE: Record<number, [name: string, http: number]> = {
  [grpc.status.CANCELLED]: ["canceled", 499],
  [grpc.status.UNKNOWN]: ["unknown", 500],
  [grpc.status.INVALID_ARGUMENT]: ["invalid_argument", 400],
  [grpc.status.DEADLINE_EXCEEDED]: ["deadline_exceeded", 504],
  [grpc.status.NOT_FOUND]: ["not_found", 404],
  [grpc.status.ALREADY_EXISTS]: ["already_exists", 409],
  [grpc.status.PERMISSION_DENIED]: ["permission_denied", 403],
  [grpc.status.RESOURCE_EXHAUSTED]: ["resource_exhausted", 429],
  [grpc.status.FAILED_PRECONDITION]: ["failed_precondition", 400],
  [grpc.status.ABORTED]: ["aborted", 409],
  [grpc.status.OUT_OF_RANGE]: ["out_of_range", 400],
  [grpc.status.UNIMPLEMENTED]: ["unimplemented", 501],
  [grpc.status.INTERNAL]: ["internal", 500],
  [grpc.status.UNAVAILABLE]: ["unavailable", 503],
  [grpc.status.DATA_LOSS]: ["data_loss", 500],
  [grpc.status.UNAUTHENTICATED]: ["unauthenticated", 401],
};

export const connectCode = (code: grpc.status): string => TABLE[code]?.[0] ?? "unknown";
export const httpStatusOf = (code: grpc.status): number => TABLE[code]?.[1] ?? 500;

import type { TokenStore } from "./token-store.js";

/** A refusal as the API words it (Connect: `{"code": "permission_denied", "message": ...}`). */
export class ApiError extends Error {
  constructor(
    /** The Connect code: "not_found", "permission_denied", ...; "unavailable" when ctmd did not answer. */
    readonly code: string,
    message: string,
    readonly status: number,
    readonly field?: string,
  ) {
    super(message);
  }
}

interface ConnectError {
  code?: string;
  message?: string;
  details?: { field?: string }[];
}

/**
 * The public API on this origin, as any client calls it: `POST /api/<package.Service>/<Method>`
 * with proto3 JSON, the token as a bearer header. The console calls nothing else.
 */
export class ApiClient {
  constructor(
    private readonly tokens: TokenStore,
    /** Told when ctmd refuses the token (revoked, expired): the app asks for another. */
    private readonly onUnauthenticated: (message: string) => void = () => undefined,
  ) {}

  /** `method` is "Service/Method" within ctm.v1, e.g. "ConfigService/History". */
  async call<T>(method: string, body: object, signal?: AbortSignal): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`/api/ctm.v1.${method}`, { method: "POST", headers: this.headers({ "content-type": "application/json" }), body: JSON.stringify(body), cache: "no-store", signal });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new ApiError("unavailable", `ctmd did not answer (${(e as Error).message})`, 0);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === "" ? {} : JSON.parse(text);
    } catch {
      throw new ApiError("unknown", `HTTP ${res.status}: the answer is not JSON`, res.status);
    }
    if (!res.ok) {
      const e = json as ConnectError;
      if (res.status === 401) this.onUnauthenticated(e.message ?? "");
      throw new ApiError(e.code ?? "unknown", e.message ?? `HTTP ${res.status}`, res.status, e.details?.[0]?.field);
    }
    return json as T;
  }

  /** Opens the Watch event stream (`/api/events`); the caller reads and closes the body. */
  events(query: URLSearchParams, lastEventId: string | undefined, signal: AbortSignal): Promise<Response> {
    const extra: Record<string, string> = { accept: "text/event-stream" };
    if (lastEventId !== undefined) extra["last-event-id"] = lastEventId;
    return fetch(`/api/events?${query}`, { headers: this.headers(extra), cache: "no-store", signal });
  }

  private headers(extra: Record<string, string>): Headers {
    const h = new Headers(extra);
    const token = this.tokens.get();
    if (token !== undefined) h.set("authorization", `Bearer ${token}`);
    return h;
  }
}

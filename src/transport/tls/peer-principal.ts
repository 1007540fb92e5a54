import type * as grpc from "@grpc/grpc-js";
import type { PeerCertificate } from "node:tls";

/**
 * What peerPrincipal reads of a server call: grpc-js's `ServerSurfaceCall` (which its index does
 * not export) narrowed to the one method, so every handler's call (unary or streaming) fits.
 */
export type ServerSurfaceCall = Pick<grpc.ServerUnaryCall<unknown, unknown>, "getAuthContext">;

/**
 * Splits node's `subjectaltname` ("DNS:a.example, URI:spiffe://x/y, IP Address:10.0.0.1").
 * Node quotes a value holding a comma or a quote as a JSON string (DNS:"a,b").
 */
export function subjectAltNames(san: string | undefined): { type: string; value: string }[] {
  if (!san) return [];
  const out: { type: string; value: string }[] = [];
  const re = /\s*([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < san.length && (m = re.exec(san)) !== null) {
    let value = m[2]!.trim();
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        /* keep it as written */
      }
    }
    out.push({ type: m[1]!.trim(), value });
  }
  return out;
}

/** The principal a verified certificate names: its subject CN, else its first DNS or URI SAN. */
export function certificatePrincipal(cert: Pick<PeerCertificate, "subject" | "subjectaltname"> | undefined): string | undefined {
  if (!cert) return undefined;
  const cn = (cert.subject as Record<string, string | string[] | undefined> | undefined)?.CN;
  const first = Array.isArray(cn) ? cn[0] : cn;
  if (first) return `cert:${first}`;
  const san = subjectAltNames(cert.subjectaltname).find((s) => s.type === "DNS" || s.type === "URI");
  return san?.value ? `cert:${san.value}` : undefined;
}

/**
 * The caller's identity from its TLS client certificate: `cert:<CN>` (or `cert:<first DNS/URI
 * SAN>` when the subject has no CN). Undefined for a plaintext call, a TLS call without a client
 * certificate, and one whose certificate the client CA did not verify (`--tls-client-auth
 * optional` lets such a connection in): grpc-js only reports a peer certificate on a socket that
 * node:tls marked `authorized`.
 */
export function peerPrincipal(call: ServerSurfaceCall): string | undefined {
  // Optional: a call object from an older grpc-js (or a test double) may lack the method.
  const ctx = (call as Partial<ServerSurfaceCall>).getAuthContext?.();
  if (!ctx || ctx.transportSecurityType !== "ssl") return undefined;
  return certificatePrincipal(ctx.sslPeerCertificate);
}

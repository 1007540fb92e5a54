import type { PeerCertificate } from "node:tls";
import { describe, expect, it } from "vitest";
import { peerPrincipal, subjectAltNames, type ServerSurfaceCall } from "./peer-principal.js";

/** A server call whose auth context is `ctx` (grpc-js: {} unless the socket's peer was verified). */
const callWith = (ctx: object | null): ServerSurfaceCall => ({ getAuthContext: () => ctx }) as unknown as ServerSurfaceCall;
const verified = (cert: Partial<PeerCertificate>) => callWith({ transportSecurityType: "ssl", sslPeerCertificate: { raw: Buffer.alloc(1), ...cert } });

describe("peerPrincipal", () => {
  it("is cert:<CN> of the verified certificate (the first CN when there are several)", () => {
    expect(peerPrincipal(verified({ subject: { CN: "billing" } as PeerCertificate["subject"] }))).toBe("cert:billing");
    expect(peerPrincipal(verified({ subject: { CN: ["a", "b"] } as unknown as PeerCertificate["subject"], subjectaltname: "DNS:x" }))).toBe("cert:a");
  });

  it("without a CN, is the first DNS or URI SAN, in the certificate's order", () => {
    const subject = { O: "ctm" } as unknown as PeerCertificate["subject"];
    expect(peerPrincipal(verified({ subject, subjectaltname: "IP Address:10.0.0.1, DNS:api.example, URI:spiffe://x/y" }))).toBe("cert:api.example");
    expect(peerPrincipal(verified({ subject, subjectaltname: "email:a@b.c, URI:spiffe://ctm/reader, DNS:r.example" }))).toBe("cert:spiffe://ctm/reader");
    expect(peerPrincipal(verified({ subject, subjectaltname: "IP Address:10.0.0.1" }))).toBeUndefined();
    expect(peerPrincipal(verified({ subject }))).toBeUndefined();
  });

  it("is undefined for plaintext, unverified or missing certificates and for calls without an auth context", () => {
    expect(peerPrincipal(callWith({}))).toBeUndefined();
    expect(peerPrincipal(callWith(null))).toBeUndefined();
    expect(peerPrincipal(callWith({ transportSecurityType: "ssl" }))).toBeUndefined();
    expect(peerPrincipal({} as ServerSurfaceCall)).toBeUndefined();
  });
});

describe("subjectAltNames", () => {
  it("splits node's format, including values it quotes", () => {
    expect(subjectAltNames('DNS:a.example, DNS:"b,c.example", URI:spiffe://x/y, IP Address:::1')).toEqual([
      { type: "DNS", value: "a.example" },
      { type: "DNS", value: "b,c.example" },
      { type: "URI", value: "spiffe://x/y" },
      { type: "IP Address", value: "::1" },
    ]);
    expect(subjectAltNames(undefined)).toEqual([]);
    expect(subjectAltNames("")).toEqual([]);
  });
});

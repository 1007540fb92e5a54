import { describe, expect, it } from "vitest";
import { grpcTarget } from "./grpc-target.js";

const roundRobin = { "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) };

// The CLI's --address and the TS SDK's address option, read by this one function.
describe("an address list", () => {
  it("keeps one address as it is, and balances a DNS name or a list of IP addresses round-robin", () => {
    expect(grpcTarget("127.0.0.1:7411")).toEqual({ target: "127.0.0.1:7411", options: {} });
    expect(grpcTarget("ctm.internal:7411")).toEqual({ target: "ctm.internal:7411", options: {} });
    expect(grpcTarget("dns:///ctm.internal:7411")).toEqual({ target: "dns:///ctm.internal:7411", options: roundRobin });
    expect(grpcTarget("10.0.0.1:7411, 10.0.0.2:7412,")).toEqual({ target: "ipv4:10.0.0.1:7411,10.0.0.2:7412", options: roundRobin });
    expect(grpcTarget("[fd00::1]:7411,[::1]:7412")).toEqual({ target: "ipv6:[fd00::1]:7411,[::1]:7412", options: roundRobin });
  });

  it("refuses a list with a host name, a missing port, mixed families, or nothing at all, saying why", () => {
    expect(() => grpcTarget("a.example:1,b.example:2")).toThrow(/a\.example:1: several addresses must each be an IP address with its port/);
    expect(() => grpcTarget("10.0.0.1,10.0.0.2:7411")).toThrow(/10\.0\.0\.1: several addresses/);
    expect(() => grpcTarget("10.0.0.1:1,[::1]:2")).toThrow(/IPv4 or IPv6 addresses, not both/);
    expect(() => grpcTarget(" , ")).toThrow(/no address given/);
  });
});

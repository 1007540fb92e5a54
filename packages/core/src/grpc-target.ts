import { isIP } from "node:net";

/**
 * The gRPC target and channel options for `address`: one `host:port`, or several separated by
 * commas (the replicas of one ctm store). Several are a static list that grpc-js balances
 * round-robin, skipping the ones that do not answer, so calls fail over; they must be IP
 * addresses (`10.0.0.1:7411`, `[fd00::1]:7411`). For host names, give one DNS name that resolves
 * to every replica (`dns:///ctm.internal:7411`), balanced the same way.
 */
export function grpcTarget(address: string): { target: string; options: Record<string, string> } {
  const parts = address.split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (parts.length === 0) throw new Error("no address given");
  const roundRobin = { "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) };
  if (parts.length === 1) return { target: parts[0]!, options: parts[0]!.startsWith("dns:") ? roundRobin : {} };
  const hosts = parts.map((p) => {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(p) ?? /^([^:]+):(\d+)$/.exec(p);
    if (!m || isIP(m[1]!) === 0) throw new Error(`${p}: several addresses must each be an IP address with its port (for host names, give one DNS name that resolves to every replica)`);
    return { host: m[1]!, port: m[2]!, family: isIP(m[1]!) };
  });
  const family = hosts[0]!.family;
  if (hosts.some((h) => h.family !== family)) throw new Error(`${address}: give IPv4 or IPv6 addresses, not both`);
  const target = family === 4 ? `ipv4:${hosts.map((h) => `${h.host}:${h.port}`).join(",")}` : `ipv6:${hosts.map((h) => `[${h.host}]:${h.port}`).join(",")}`;
  return { target, options: roundRobin };
}

import type { AddressInfo, Server } from "node:net";

/**
 * Binds `server` to a `host:port` that listenAddress checked (an IPv6 host in brackets; port 0
 * picks one) and resolves the address it is bound to, in the same form. A failure to bind
 * (the port taken, a host that does not resolve) rejects; later errors are the caller's.
 */
export function listenOn(server: Server, address: string): Promise<string> {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(address.slice(i + 1));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(`${host.includes(":") ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`);
    });
  });
}

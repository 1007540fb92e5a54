import { isIP } from "node:net";
import { InvalidArgumentError } from "commander";

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * A `host:port` to listen on, checked before anything binds. The port is required: grpc-js
 * takes a bare host as port 443, which is never what an operator of ctmd meant. IPv6 hosts
 * go in brackets (`[::1]:7411`), as in a URL.
 */
export function listenAddress(value: string): string {
  const example = "e.g. 127.0.0.1:7411, [::1]:7411 or 0.0.0.0:7411";
  const m = /^(\[[^\]]*\]|[^:[\]]*):(\d{1,5})$/.exec(value);
  if (!m) {
    const hint = /^[^:]*$/.test(value) ? "a port is required" : "expected host:port";
    throw new InvalidArgumentError(`${hint} (${example})`);
  }
  const [, host, port] = m as unknown as [string, string, string];
  if (Number(port) > 65535) throw new InvalidArgumentError(`port ${port} is above 65535`);
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  // "127.0.0.300" would pass as a host name and only fail later, at a DNS lookup.
  const dotted = /^[\d.]+$/.test(bare);
  const valid = host.startsWith("[") ? isIP(bare) === 6 : isIP(bare) === 4 || (!dotted && HOST_NAME.test(bare));
  if (!valid) throw new InvalidArgumentError(`"${host}" is not an IP address or host name (${example})`);
  return value;
}

/** `--metrics-listen` also takes "off". */
export const metricsListenAddress = (value: string): string => (value === "off" ? value : listenAddress(value));

/** True for 127.0.0.0/8, [::1] and localhost: addresses only this machine can reach. */
export function isLoopbackListen(address: string): boolean {
  const host = address.slice(0, address.lastIndexOf(":")).replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

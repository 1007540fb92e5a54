import { execFileSync } from "node:child_process";

/** The external programs the bench drives, and their versions; exits with an install hint if one is missing. */
export function requireTools(): { h2load: string; etcd: string } {
  const version = (command: string, pick: RegExp): string | undefined => {
    try {
      const out = execFileSync(command, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      return pick.exec(out)?.[1] ?? out.split("\n")[0]!.trim();
    } catch {
      return undefined;
    }
  };
  const h2load = version("h2load", /nghttp2\/(\S+)/);
  const etcd = version("etcd", /etcd Version: (\S+)/);
  const missing = [h2load ? undefined : "h2load (package nghttp2-client)", etcd ? undefined : "etcd (package etcd-server)"].filter(Boolean);
  if (!h2load || !etcd) {
    console.error(`bench: missing ${missing.join(" and ")}.`);
    console.error("Install them, then run the bench again:\n\n    scripts/apt-install.sh nghttp2-client etcd-server   (as root; it leaves no service enabled: etcd-server enables one)\n");
    process.exit(2);
  }
  return { h2load, etcd };
}

import { execFile } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A PEM certificate and its key, as files, and their bytes. */
export interface Issued {
  name: string;
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  /** As node reports it (upper-case hex). */
  serial: string;
}

export interface LeafOptions {
  /** The subject CN; omitted: a subject without one (O=ctm-test). */
  cn?: string;
  /** subjectAltName entries, e.g. ["IP:127.0.0.1", "DNS:localhost", "URI:spiffe://x/y"]. */
  sans?: string[];
  /** both: a certificate that also dials out with itself, as an etcd member's does for its own gateway. */
  usage: "server" | "client" | "both";
}

const openssl = (args: string[], cwd: string) => run("openssl", args, { cwd, timeout: 60_000 });
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/**
 * Real certificates made with the `openssl` command (P-256 keys, valid two days) in a temporary
 * directory that `dispose` removes.
 */
export class TestPki {
  private constructor(readonly dir: string) {}

  /** In a fresh directory under `parent`: the system's temporary directory unless told. */
  static async create(parent = tmpdir()): Promise<TestPki> {
    return new TestPki(await mkdtemp(join(parent, "ctm-pki-")));
  }

  private async issued(name: string): Promise<Issued> {
    const certFile = join(this.dir, `${name}.pem`);
    const keyFile = join(this.dir, `${name}-key.pem`);
    const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
    return { name, certFile, keyFile, cert, key, serial: new X509Certificate(cert).serialNumber };
  }

  /** A self-signed CA. */
  async ca(name: string): Promise<Issued> {
    await openssl(
      ["req", "-x509", ...EC, "-days", "2", "-subj", `/CN=${name}`, "-keyout", `${name}-key.pem`, "-out", `${name}.pem`,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
      this.dir,
    );
    return this.issued(name);
  }

  /** A leaf certificate `ca` signs, with a random serial. */
  async leaf(ca: Issued, name: string, o: LeafOptions): Promise<Issued> {
    const ext = [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature",
      `extendedKeyUsage=${{ server: "serverAuth", client: "clientAuth", both: "serverAuth,clientAuth" }[o.usage]}`,
      ...(o.sans?.length ? [`subjectAltName=${o.sans.join(",")}`] : []),
    ];
    await writeFile(join(this.dir, `${name}.ext`), `${ext.join("\n")}\n`);
    await openssl(["req", "-new", ...EC, "-subj", o.cn ? `/CN=${o.cn}` : "/O=ctm-test", "-keyout", `${name}-key.pem`, "-out", `${name}.csr`], this.dir);
    const serial = `0x${(randomBytes(8)[0]! | 0x40).toString(16)}${randomBytes(7).toString("hex")}`;
    await openssl(
      ["x509", "-req", "-in", `${name}.csr`, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-set_serial", serial, "-days", "2", "-extfile", `${name}.ext`, "-out", `${name}.pem`],
      this.dir,
    );
    return this.issued(name);
  }

  dispose(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}

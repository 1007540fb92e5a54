import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { AuthApi } from "../helpers/auth.js";
import { launchChromium } from "../helpers/chromium.js";
import { api, connect, rolloutApi, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";

/** A daemon with auth on, its admin token, gRPC clients as the admin, and a headless Chromium. */
export interface ConsoleEnv {
  daemon: Daemon;
  browser: Browser;
  adminToken: string;
  client: Client;
  admin: AuthApi;
  /** ConfigService as the admin. */
  config: ReturnType<typeof api>;
  rollout: ReturnType<typeof rolloutApi>;
  /** http://host:port of the console. */
  base: string;
  close(): Promise<void>;
}

export async function startConsoleEnv(args: string[] = []): Promise<ConsoleEnv> {
  const daemon = await Daemon.start({ args: ["--auth", "on", "--auth-failure-delay-max-ms", "0", ...args] });
  let browser: Browser | undefined;
  try {
    const adminToken = (await readFile(join(daemon.dataDir, "admin.token"), "utf8")).trim();
    browser = await launchChromium();
    const client = connect(daemon.address);
    const admin = new AuthApi(daemon.address, adminToken);
    const rollout = rolloutApi(daemon.address, adminToken);
    const b = browser;
    return {
      daemon,
      browser: b,
      adminToken,
      client,
      admin,
      config: api(client, adminToken),
      rollout,
      base: `http://${daemon.http}`,
      close: async () => {
        rollout.client.close();
        admin.close();
        client.close();
        await b.close();
        await daemon.dispose();
      },
    };
  } catch (e) {
    await browser?.close();
    await daemon.dispose();
    throw e;
  }
}

/** A page in its own browser context (its own sessionStorage), with what the page logged as errors. */
export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions, CSP violations among them. */
  errors: string[];
}

export async function openPage(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return { page, context, errors };
}

/** Opens `path` and signs in with `token` through the form, as a person would. */
export async function signIn(env: Pick<ConsoleEnv, "browser" | "base">, token: string, path = "/ui/keys", viewport?: { width: number; height: number }): Promise<ConsolePage> {
  const p = await openPage(env.browser, viewport);
  await p.page.goto(`${env.base}${path}`);
  await p.page.getByLabel("Access token").fill(token);
  await p.page.getByRole("button", { name: "Sign in" }).click();
  await p.page.getByTestId("whoami").waitFor();
  return p;
}

/**
 * Requests the page made that ctmd refused for a reason other than the one a test provokes: an
 * API failure shows on the page, but 4xx answers also log "Failed to load resource" lines, which
 * are expected where a test checks a refusal. CSP violations and exceptions never are.
 */
export const unexpectedErrors = (errors: string[]): string[] => errors.filter((e) => !/^Failed to load resource: the server responded with a status of 4\d\d/.test(e));

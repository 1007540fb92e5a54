import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Debian's Chromium (scripts/apt-install.sh chromium); playwright's own download is not used. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * A real headless Chromium, driven by playwright-core. Playwright starts it as its own child
 * and `close()` ends that process; the caller closes it in afterAll.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/apt-install.sh --no-install-recommends chromium`);
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

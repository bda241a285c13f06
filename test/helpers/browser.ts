import { chromium, type Browser } from "playwright-core";

/** Debian's Chromium, headless, as every browser test runs it. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
}

import { chromium, type Browser } from "playwright-core";
import type { Workers } from "../../src/jobs/workers.js";
import { freePort } from "./free-port.js";
import { startMailWorker } from "./mail-worker.js";
import { createTestRuntime, type TestRuntime } from "./runtime.js";

/** Debian's Chromium, headless, as every browser test runs it. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
}

/** The app as a browser meets it: listening on 127.0.0.1, its mail sent by a worker, and the browser. */
export interface ServedApp {
  rt: TestRuntime;
  /** The app's address, which is also its PUBLIC_URL: the links in its emails lead back here. */
  base: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function serveForBrowser(config: Record<string, string> = {}): Promise<ServedApp> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const rt = await createTestRuntime({ ...config, PUBLIC_URL: base });
  let mailWorker: Workers | undefined;
  try {
    const app = await rt.app();
    mailWorker = await startMailWorker(rt);
    await app.listen({ port, host: "127.0.0.1" });
    const browser = await launchBrowser();
    const worker = mailWorker;
    return {
      rt,
      base,
      browser,
      async close() {
        await browser.close();
        await worker.close();
        await rt.close();
      },
    };
  } catch (err) {
    // Nothing half-started outlives a failed setup.
    await mailWorker?.close();
    await rt.close();
    throw err;
  }
}

import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveForBrowser, type ServedApp } from "../helpers/browser.js";
import type { TestRuntime } from "../helpers/runtime.js";

describe("signup in a real browser", () => {
  let served: ServedApp;
  let rt: TestRuntime;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    // Links in emails must point at this server, so PUBLIC_URL is the listening address.
    served = await serveForBrowser();
    ({ rt, browser, base } = served);
  });
  afterAll(async () => {
    await served?.close();
  });

  it("fills the form, sees the inbox page, confirms from the emailed link and sees the topics", async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 812 }, timezoneId: "Asia/Tokyo" });
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(`${base}/subscribe`);

    // The time zone comes from the browser, and the page fits a 375 px phone.
    await expect.poll(() => page.inputValue("#timezone")).toBe("Asia/Tokyo");
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);

    await page.getByLabel("Email").fill("browser@example.org");
    await page.getByLabel(/Topics/).fill("diffusion models\nthe");
    await page.getByLabel("Send at").selectOption("7");
    await page.getByRole("button", { name: "Subscribe" }).click();
    // A bad topic is shown next to the field without leaving the page.
    const topicError = page.locator('[data-error-for="topics"]');
    await expect.poll(() => topicError.textContent()).toMatch(/Topic 2: .*no searchable words/);
    expect(new URL(page.url()).pathname).toBe("/subscribe");
    expect(rt.sink.messages).toHaveLength(0);

    await page.getByLabel(/Topics/).fill("diffusion models\n\"test-time compute\"");
    await page.keyboard.press("Tab");
    await page.getByRole("button", { name: "Subscribe" }).click();
    await page.waitForURL(`${base}/check-inbox`);
    expect(await page.locator("h1").textContent()).toBe("Check your inbox");

    const [mail] = await rt.sink.waitFor(1);
    const link = new RegExp(`${base.replace(/[.]/g, "\\.")}/confirm\\?token=[^\\s"<]+`).exec(mail?.parsed.text ?? "")?.[0];
    expect(link).toBeDefined();
    await page.goto(link!);
    await page.getByRole("button", { name: "Confirm my subscription" }).click();
    await page.waitForURL(`${base}/confirm`);
    expect(await page.locator("h1").textContent()).toBe("You're subscribed");
    expect(await page.locator("ul.topics li").allTextContents()).toEqual(["diffusion models", '"test-time compute"']);

    // The manage link on the welcome page opens the subscriber's preferences.
    await page.getByRole("link", { name: "Manage my subscription" }).click();
    expect(await page.inputValue("#timezone")).toBe("Asia/Tokyo");
    expect(await page.inputValue("#sendHour")).toBe("7");
    expect(cspErrors).toEqual([]);
    await context.close();
  });

  it("works with JavaScript turned off", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${base}/subscribe`);
    await page.fill("#email", "nojs@example.org");
    await page.fill("#topics", "x");
    await page.click("button[type=submit]");
    // Refused: the form comes back with the error next to the field and what was typed.
    expect(await page.locator('[data-error-for="topics"]').textContent()).toMatch(/at least 2 characters/);
    expect(await page.inputValue("#email")).toBe("nojs@example.org");
    await page.fill("#topics", "graph neural networks");
    await page.click("button[type=submit]");
    expect(await page.locator("h1").textContent()).toBe("Check your inbox");
    await context.close();
  });
});

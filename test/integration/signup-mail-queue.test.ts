import { createServer, type Server, type Socket } from "node:net";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { subscribers } from "../../src/db/schema.js";
import type { App } from "../../src/http/app.js";
import type { Job } from "bullmq";
import { createJobHandlers } from "../../src/jobs/handlers.js";
import type { PlanJob } from "../../src/jobs/queues.js";
import type { Workers } from "../../src/jobs/workers.js";
import { startMailWorker } from "../helpers/mail-worker.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";

/** A port nothing listens on (yet): connecting to it is refused, as with a relay that is down. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", () => resolve()));
  const address = s.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A relay that accepts the connection and never says a word (a hung or overloaded server). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function until<T>(fn: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const env = { SIGNUP_RATE_LIMIT_PER_IP: "1000", SIGNUP_RATE_LIMIT_PER_ADDRESS: "1000", TRANSACTIONAL_MAIL_BACKOFF_MS: "250", MAIL_DOMAIN: "paperboy.test" };

describe("signup mail goes through the queue", () => {
  let rt: TestRuntime | undefined;
  let worker: Workers | undefined;
  let relay: SmtpSink | undefined;
  afterEach(async () => {
    await worker?.close();
    await rt?.close();
    await relay?.close();
    worker = rt = relay = undefined;
  });

  it("SMTP refusing connections for 2.5 s: signup answers 202 at once, and the confirmation arrives exactly once after SMTP returns", async () => {
    const port = await closedPort();
    rt = await createTestRuntime({ ...env, SMTP_URL: `smtp://127.0.0.1:${port}` });
    const app = await rt.app();
    worker = await startMailWorker(rt);

    const started = Date.now();
    const res = await app.inject({ method: "POST", url: "/api/subscriptions", payload: { email: "outage@example.org", topics: ["diffusion models"] } });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: "accepted" });
    // The job met the refused connection and waits for its next try; nothing was lost or sent.
    const job = await until(
      async () => (await rt!.queues.mail.getJobs(["delayed", "waiting", "active"]))[0],
      (j) => (j?.attemptsMade ?? 0) >= 1,
    );
    expect(job?.attemptsMade).toBeGreaterThanOrEqual(1);
    expect(job?.failedReason).toMatch(/ECONNREFUSED|connect/i);

    await new Promise((r) => setTimeout(r, Math.max(0, 2500 - (Date.now() - started))));
    // The relay comes back on the address the mailer was configured with.
    relay = await startSmtpSink({ port });
    const [mail] = await relay.waitFor(1, 30_000);
    expect(mail?.envelope.to).toEqual(["outage@example.org"]);
    expect(mail?.parsed.subject).toBe("Confirm your paperboy subscription");
    expect(mail?.parsed.text).toMatch(/http:\/\/paperboy\.test\/confirm\?token=\S+/);
    // No second copy follows (the job completed; a retry would come within a few hundred ms).
    await until(async () => (await rt!.queues.mail.getJobCounts("completed")).completed, (n) => n === 1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(relay.messages).toHaveLength(1);
  }, 60_000);

  it("a relay that hangs does not hold up signup answers", async () => {
    const hung = await silentServer();
    try {
      rt = await createTestRuntime({ ...env, SMTP_URL: `smtp://127.0.0.1:${hung.port}` });
      const app = await rt.app();
      worker = await startMailWorker(rt);
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const res = await app.inject({ method: "POST", url: "/api/subscriptions", payload: { email: `hung${i}@example.org`, topics: ["retrieval"] } });
        const ms = performance.now() - t0;
        expect(res.statusCode).toBe(202);
        // nodemailer waits 10 s for a greeting: a request that waited for SMTP could not answer in 2 s.
        expect(ms).toBeLessThan(2000);
      }
      const counts = await rt.queues.mail.getJobCounts("waiting", "active", "delayed");
      expect(counts.waiting! + counts.active! + counts.delayed!).toBe(5);
    } finally {
      // Dropping the hung connections lets the worker's running job end before it closes.
      await hung.close();
    }
  }, 60_000);

  it("queues ids only, and skips a confirmation whose subscriber confirmed or was erased meanwhile", async () => {
    rt = await createTestRuntime(env);
    const app: App = await rt.app();
    for (const email of ["erased@example.org", "clicked@example.org", "kept@example.org"]) {
      const res = await app.inject({ method: "POST", url: "/api/subscriptions", payload: { email, topics: ["robot learning"] } });
      expect(res.statusCode).toBe(202);
    }
    // What Redis holds: kind, subscriber id and signup version; no address, no HTML.
    const jobs = await rt.queues.mail.getJobs(["waiting"]);
    expect(jobs).toHaveLength(3);
    for (const j of jobs) {
      expect(Object.keys(j.data).sort()).toEqual(["kind", "subscriberId", "version"]);
      expect(JSON.stringify(j.data)).not.toMatch(/@|<|example/);
      expect(j.id).toBe(`confirm-${j.data.subscriberId}-v${j.data.version}`);
      expect(j.opts.attempts).toBe(10);
      expect(j.opts.backoff).toEqual({ type: "exponential", delay: 250 });
    }
    // Enqueueing the same email again adds nothing.
    await rt.jobs.enqueueSubscriberMail(jobs.map((j) => j.data));
    expect(await rt.queues.mail.getJobCounts("waiting")).toEqual({ waiting: 3 });

    const [erased] = await rt.db.select().from(subscribers).where(eq(subscribers.email, "erased@example.org"));
    await rt.db.update(subscribers).set({ email: null, erasedAt: new Date(), status: "unsubscribed" }).where(eq(subscribers.id, erased!.id));
    await rt.db.update(subscribers).set({ status: "active", confirmedAt: new Date() }).where(eq(subscribers.email, "clicked@example.org"));

    worker = await startMailWorker(rt);
    await rt.sink.waitFor(1);
    await until(async () => (await rt!.queues.mail.getJobCounts("completed")).completed, (n) => n === 3);
    expect(rt.sink.messages.map((m) => m.envelope.to[0])).toEqual(["kept@example.org"]);
    const results = (await rt.queues.mail.getJobs(["completed"])).map((j) => j.returnvalue as { sent: boolean; reason?: string });
    expect(results.filter((r) => !r.sent).map((r) => r.reason).sort()).toEqual(["subscriber erased", "subscriber is active"]);
  }, 60_000);

  it("a 5xx reply is not retried; a later signup mails again", async () => {
    rt = await createTestRuntime(env);
    const app = await rt.app();
    worker = await startMailWorker(rt);
    rt.sink.respond(() => ({ code: 550, message: "5.1.1 mailbox unavailable" }));
    await app.inject({ method: "POST", url: "/api/subscriptions", payload: { email: "gone@example.org", topics: ["speech"] } });
    const failed = await until(async () => (await rt!.queues.mail.getJobs(["failed"]))[0], (j) => j !== undefined);
    expect(failed?.attemptsMade).toBe(1);
    rt.sink.respond(undefined);
    await app.inject({ method: "POST", url: "/api/subscriptions", payload: { email: "gone@example.org", topics: ["speech"] } });
    const [mail] = await rt.sink.waitFor(1);
    expect(mail?.envelope.to).toEqual(["gone@example.org"]);
  }, 60_000);

  it("Redis losing its data loses no confirmation: the hourly plan enqueues the ones still owed, once", async () => {
    rt = await createTestRuntime(env);
    const app = await rt.app();
    const signedUpAt = Date.now();
    for (const email of ["lost@example.org", "bounced@example.org"]) {
      expect((await app.inject({ method: "POST", url: "/api/subscriptions", payload: { email, topics: ["speech"] } })).statusCode).toBe(202);
    }
    // Redis restarted without its data (no AOF): the queued confirmations are gone.
    await rt.queues.mail.obliterate({ force: true });
    const { plan } = createJobHandlers(rt);
    const planAt = async (minutes: number) => {
      await plan!({ data: { at: new Date(signedUpAt + minutes * 60_000).toISOString() } } as Job<PlanJob>);
      return (await rt!.queues.mail.getJobs(["waiting"])).map((j) => j.id).sort();
    };
    // Within a few minutes a job may still be on its way: nothing is owed yet.
    expect(await planAt(5)).toEqual([]);
    const owed = await planAt(20);
    expect(owed).toHaveLength(2);
    expect(owed.every((id) => /^confirm-\d+-v1$/.test(id!))).toBe(true);

    rt.sink.respond((m) => (m.to.includes("bounced@example.org") ? { code: 550, message: "5.1.1 mailbox unavailable" } : undefined));
    worker = await startMailWorker(rt);
    const [mail] = await rt.sink.waitFor(1);
    expect(mail?.envelope.to).toEqual(["lost@example.org"]);
    expect(mail?.parsed.subject).toBe("Confirm your paperboy subscription");
    await until(async () => (await rt!.queues.mail.getJobCounts("completed", "failed")), (c) => c.completed === 1 && c.failed === 1);
    // Sent (or refused for good) is no longer owed, even after Redis forgets the jobs again.
    await worker.close();
    worker = undefined;
    await rt.queues.mail.obliterate({ force: true });
    expect(await planAt(80)).toEqual([]);
    expect(rt.sink.messages).toHaveLength(1);
  }, 60_000);
});


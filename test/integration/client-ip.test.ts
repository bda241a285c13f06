import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

/** One signup over a real socket from 127.0.0.1, with whatever X-Forwarded-For the client chooses. */
async function signup(base: string, email: string, forwardedFor?: string): Promise<number> {
  const res = await fetch(`${base}/api/subscriptions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}) },
    body: JSON.stringify({ email, topics: ["diffusion models"] }),
  });
  await res.arrayBuffer();
  return res.status;
}

async function consentIps(rt: TestRuntime): Promise<Map<string, string | null>> {
  const { rows } = await rt.db.execute<{ email: string; consent_ip: string | null }>(sql`select email, consent_ip from subscribers`);
  return new Map(rows.map((r) => [r.email, r.consent_ip]));
}

async function listening(rt: TestRuntime): Promise<string> {
  const app = await rt.app();
  return app.listen({ host: "127.0.0.1", port: 0 });
}

describe("client IP without TRUST_PROXY (the default)", () => {
  let rt: TestRuntime;
  let base: string;
  beforeAll(async () => {
    rt = await createTestRuntime({ SIGNUP_RATE_LIMIT_PER_IP: "10" });
    base = await listening(rt);
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("25 signups with rotating X-Forwarded-For from one untrusted peer: at most 10 accepted", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push(await signup(base, `spoof${i}@example.org`, `203.0.113.${i + 1}`));
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    const ips = await consentIps(rt);
    expect(ips.size).toBe(10);
    // The consent record names the peer that really connected, not the header's claim.
    expect(new Set(ips.values())).toEqual(new Set(["127.0.0.1"]));
    expect(rt.sink.messages.length).toBeLessThanOrEqual(10);
  });
});

describe("client IP behind a proxy TRUST_PROXY names", () => {
  let rt: TestRuntime;
  let base: string;
  beforeAll(async () => {
    rt = await createTestRuntime({ TRUST_PROXY: "loopback", SIGNUP_RATE_LIMIT_PER_IP: "3" });
    base = await listening(rt);
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("each forwarded client gets its own limit and consent IP; a client's own forged entries are ignored", async () => {
    const statuses: number[] = [];
    // What the trusted proxy forwards: whatever the client sent, then the address it saw.
    for (let i = 0; i < 6; i++) statuses.push(await signup(base, `fwd${i}@example.org`, `6.6.6.6, 198.51.100.${i + 1}`));
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202]);
    const ips = await consentIps(rt);
    for (let i = 0; i < 6; i++) expect(ips.get(`fwd${i}@example.org`)).toBe(`198.51.100.${i + 1}`);

    // One forwarded client rotating its own X-Forwarded-For still counts as itself.
    const same: number[] = [];
    for (let i = 0; i < 6; i++) same.push(await signup(base, `same${i}@example.org`, `10.9.9.${i}, 198.51.100.200`));
    expect(same.filter((s) => s === 202)).toHaveLength(3);
  });
});

describe("client IP with TRUST_PROXY as a hop count", () => {
  let rt: TestRuntime;
  let base: string;
  beforeAll(async () => {
    rt = await createTestRuntime({ TRUST_PROXY: "1" });
    base = await listening(rt);
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("believes exactly one hop: the address the load balancer appended", async () => {
    expect(await signup(base, "hop@example.org", "192.0.2.1, 198.51.100.77")).toBe(202);
    expect((await consentIps(rt)).get("hop@example.org")).toBe("198.51.100.77");
  });
});

describe("per-mailbox signup limit", () => {
  let rt: TestRuntime;
  let base: string;
  beforeAll(async () => {
    rt = await createTestRuntime({ SIGNUP_RATE_LIMIT_PER_IP: "1000", SIGNUP_RATE_LIMIT_PER_ADDRESS: "5" });
    base = await listening(rt);
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("plus-addresses of one inbox share one mailbox limit, and are stored as typed", async () => {
    const typed = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? `Ines+news${i}@Example.org` : `ines+${i}@example.ORG`));
    const statuses: number[] = [];
    for (const email of typed) statuses.push(await signup(base, email));
    expect(statuses.filter((s) => s === 202)).toHaveLength(5);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    const stored = [...(await consentIps(rt)).keys()].sort();
    expect(stored).toEqual(typed.slice(0, 5).sort());
    // Another inbox at the same domain has its own limit.
    expect(await signup(base, "jonas+x@example.org")).toBe(202);
  });
});

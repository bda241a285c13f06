import { describe, expect, it } from "vitest";
import { createMetrics } from "../../src/metrics.js";

const value = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : undefined;
};

describe("metrics", () => {
  it("counts emails by outcome and the send lag from the SendMetrics calls", async () => {
    const m = createMetrics({ defaultMetrics: false });
    const before = await m.render();
    expect(value(before, 'paperboy_emails_total{outcome="sent"}')).toBe(0);
    m.send.sent(42);
    m.send.sent(3);
    m.send.bounced();
    m.send.failed();
    m.ingest.papers("huggingface", 25);
    m.ingest.papers("arxiv", 0);
    m.jobs.completed("send");
    m.jobs.failed("ingest");
    const text = await m.render();
    expect(value(text, 'paperboy_emails_total{outcome="sent"}')).toBe(2);
    expect(value(text, 'paperboy_emails_total{outcome="bounced"}')).toBe(1);
    expect(value(text, 'paperboy_emails_total{outcome="failed"}')).toBe(1);
    expect(value(text, "paperboy_digest_send_lag_seconds_count")).toBe(2);
    expect(value(text, "paperboy_digest_send_lag_seconds_sum")).toBe(45);
    expect(value(text, 'paperboy_digest_send_lag_seconds_bucket{le="5"}')).toBe(1);
    expect(value(text, 'paperboy_ingest_papers_total{source="huggingface"}')).toBe(25);
    expect(text).not.toContain('source="arxiv"');
    expect(value(text, 'paperboy_jobs_completed_total{queue="send"}')).toBe(1);
    expect(value(text, 'paperboy_jobs_failed_total{queue="ingest"}')).toBe(1);
  });

  it("keeps each registry to itself", async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.send.sent(1);
    expect(value(await a.render(), 'paperboy_emails_total{outcome="sent"}')).toBe(1);
    expect(value(await b.render(), 'paperboy_emails_total{outcome="sent"}')).toBe(0);
    expect(await b.render()).toContain("paperboy_nodejs_eventloop_lag_seconds");
  });
});

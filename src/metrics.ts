import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Prometheus metrics for one process. Each runtime builds its own Registry (no
 * prom-client default registry), so two apps in one test process never share counts.
 *
 * The modules that do the work own small interfaces (SendMetrics, IngestMetrics,
 * JobMetrics) and receive them; they never import prom-client.
 */

/** What the send pipeline reports: one call per digest that reached a final state. */
export interface SendMetrics {
  /** The SMTP server accepted the digest; lagSeconds = sent_at − digest created_at. */
  sent(lagSeconds: number): void;
  bounced(): void;
  failed(): void;
}

/** What an ingest run reports: papers it brought in from one source. */
export interface IngestMetrics {
  papers(source: string, count: number): void;
}

/** What the BullMQ workers report: one call per finished job attempt. */
export interface JobMetrics {
  completed(queue: string): void;
  failed(queue: string): void;
}

/** The mail speed tricks (MAIL_FAST_PATHS) and whether each is engaged in this process. */
export type MailFastPath = "data_stream" | "mime_writer" | "template_fill" | "session_pool";

export interface MailMetrics {
  fastPath(path: MailFastPath, engaged: boolean): void;
}

export interface HttpMetrics {
  /** route is the route pattern (e.g. /admin/digests/:id/resend), never the raw URL. */
  observe(method: string, route: string, status: number, seconds: number): void;
}

export interface Metrics {
  registry: Registry;
  http: HttpMetrics;
  jobs: JobMetrics;
  send: SendMetrics;
  ingest: IngestMetrics;
  mail: MailMetrics;
  /** The text exposition format, for GET /metrics. */
  render(): Promise<string>;
  contentType: string;
}

export function createMetrics(opts: { defaultMetrics?: boolean; prefix?: string } = {}): Metrics {
  const registry = new Registry();
  const p = opts.prefix ?? "paperboy_";
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: p });

  const httpDuration = new Histogram({
    name: `${p}http_request_duration_seconds`,
    help: "HTTP request duration by route pattern and status code",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const jobsCompleted = new Counter({
    name: `${p}jobs_completed_total`,
    help: "BullMQ jobs completed, by queue",
    labelNames: ["queue"] as const,
    registers: [registry],
  });
  const jobsFailed = new Counter({
    name: `${p}jobs_failed_total`,
    help: "BullMQ job attempts that failed, by queue",
    labelNames: ["queue"] as const,
    registers: [registry],
  });
  const emails = new Counter({
    name: `${p}emails_total`,
    help: "Digest emails by outcome: sent (accepted by SMTP), bounced, failed",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const sendLag = new Histogram({
    name: `${p}digest_send_lag_seconds`,
    help: "Seconds between a digest being planned (created_at) and sent (sent_at)",
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
    registers: [registry],
  });
  const ingestPapers = new Counter({
    name: `${p}ingest_papers_total`,
    help: "Papers brought in by ingest, by source",
    labelNames: ["source"] as const,
    registers: [registry],
  });
  const fastPath = new Gauge({
    name: `${p}mail_fast_path_engaged`,
    help: "1 when a mail fast path (data_stream, mime_writer, template_fill) is engaged in this process, 0 when the plain path is used",
    labelNames: ["path"] as const,
    registers: [registry],
  });
  // Zero-valued series exist from the start, so dashboards and alerts see 0 rather than "no data".
  for (const outcome of ["sent", "bounced", "failed"]) emails.inc({ outcome }, 0);

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    http: {
      observe(method, route, status, seconds) {
        httpDuration.observe({ method, route, status_code: String(status) }, seconds);
      },
    },
    jobs: {
      completed: (queue) => jobsCompleted.inc({ queue }),
      failed: (queue) => jobsFailed.inc({ queue }),
    },
    send: {
      sent(lagSeconds) {
        emails.inc({ outcome: "sent" });
        if (Number.isFinite(lagSeconds) && lagSeconds >= 0) sendLag.observe(lagSeconds);
      },
      bounced: () => emails.inc({ outcome: "bounced" }),
      failed: () => emails.inc({ outcome: "failed" }),
    },
    ingest: {
      papers(source, count) {
        if (count > 0) ingestPapers.inc({ source }, count);
      },
    },
    mail: {
      fastPath: (path, engaged) => fastPath.set({ path }, engaged ? 1 : 0),
    },
  };
}

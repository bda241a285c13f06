import { createPublicKey } from "node:crypto";
import { existsSync } from "node:fs";
import { isIP } from "node:net";
import { z } from "zod";

/**
 * The only reader of process.env. Every key is documented in .env.example.
 * A bad value stops the process at boot with one message listing every problem.
 */

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL (${protocols.join(" or ")})` },
  );

const csv = z
  .string()
  .transform((v) => v.split(",").map((s) => s.trim()).filter((s) => s.length > 0));

/** Zones already found valid: a bounded set (Intl knows a few hundred), so any input is safe to remember. */
const knownZones = new Set<string>();

/** Whether JavaScript (and so our rendering) knows this IANA time zone; shared by every input that takes one. */
export function isTimeZone(tz: string): boolean {
  if (knownZones.has(tz)) return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    knownZones.add(tz);
    return true;
  } catch {
    return false;
  }
}

/** Names proxy-addr (Fastify's trustProxy) knows for address ranges. */
const PROXY_RANGE_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [address = "", bits, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * Which peers may tell us the client's address in X-Forwarded-For: off (the socket's
 * peer is the client), a hop count, or the proxies' addresses/CIDRs. `true` (believe
 * anyone) is refused: then every client picks its own rate-limit bucket and consent IP.
 */
const trustProxy = z.string().transform((v, ctx): false | number | string[] => {
  const t = v.trim().toLowerCase();
  if (t === "false" || t === "off" || t === "0") return false;
  if (/^\d+$/.test(t)) {
    const hops = Number(t);
    if (hops <= 10) return hops;
    ctx.addIssue({ code: "custom", message: "a hop count is at most 10" });
    return z.NEVER;
  }
  if (t === "true") {
    ctx.addIssue({ code: "custom", message: "true would believe any client's X-Forwarded-For: give a hop count (e.g. 1) or your proxies' addresses/CIDRs" });
    return z.NEVER;
  }
  const list = v.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  const bad = list.filter((e) => !isProxyAddress(e));
  if (list.length === 0 || bad.length > 0) {
    ctx.addIssue({ code: "custom", message: `${bad.map((b) => `"${b}"`).join(", ") || "empty"}: use off, a hop count, or a comma list of IP addresses, CIDRs (10.0.0.0/8) or loopback/linklocal/uniquelocal` });
    return z.NEVER;
  }
  return list;
});

/** SendGrid shows its Event Webhook verification key as base64 DER (SubjectPublicKeyInfo); PEM works too. */
export function sendgridPublicKey(value: string) {
  const v = value.trim().replace(/\\n/g, "\n");
  return v.includes("BEGIN PUBLIC KEY")
    ? createPublicKey(v)
    : createPublicKey({ key: Buffer.from(v.replace(/\s+/g, ""), "base64"), format: "der", type: "spki" });
}

const ecPublicKey = z.string().refine(
  (v) => {
    try {
      return sendgridPublicKey(v).asymmetricKeyType === "ec";
    } catch {
      return false;
    }
  },
  { message: "must be the Event Webhook's verification key (an ECDSA public key, base64 DER or PEM)" },
);

const timeZone = z.string().refine(isTimeZone, { message: "must be an IANA time zone such as Europe/Berlin" });

export const configSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    HOST: z.string().min(1).default("127.0.0.1"),
    PORT: int(0, 65535).default(3000),
    PUBLIC_URL: url(["http:", "https:"]).default("http://localhost:3000"),
    TRUST_PROXY: trustProxy.default(false),
    DATA_DIR: z.string().min(1).default(".data"),
    /** How long the papers pages trust what they know of a listing day before asking Postgres again. */
    PAGE_CACHE_MS: int(0, 600_000).default(1000),

    DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
    DATABASE_POOL_SIZE: int(1, 200).default(10),
    DATABASE_CONNECT_TIMEOUT_MS: int(100, 120_000).default(5000),
    EMBEDDED_PG_PORT: int(1, 65535).default(54329),
    REDIS_URL: url(["redis:", "rediss:"]).default("redis://127.0.0.1:6379"),
    QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).default("paperboy"),

    TOKEN_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
    WEBHOOK_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
    SES_SNS_TOPIC_ARNS: csv
      .refine((list) => list.length > 0 && list.every((a) => /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(a)), {
        message: "must be a comma list of SNS topic ARNs such as arn:aws:sns:eu-west-1:123456789012:ses-bounces",
      })
      .optional(),
    POSTMARK_WEBHOOK_USER: z.string().regex(/^[^:\s]{1,100}$/, "must be a user name without ':' or spaces").default("postmark"),
    POSTMARK_WEBHOOK_PASSWORD: z.string().min(16, "must be at least 16 characters").optional(),
    SENDGRID_WEBHOOK_PUBLIC_KEY: ecPublicKey.optional(),
    MAILGUN_WEBHOOK_SIGNING_KEY: z.string().min(16, "must be at least 16 characters").optional(),
    RESEND_WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/, "must be the endpoint's signing secret (whsec_ followed by base64)")
      .optional(),

    SMTP_URL: url(["smtp:", "smtps:"]).optional(),
    SMTP_POOL_SIZE: int(1, 100).default(5),
    SMTP_TIMEOUT_MS: int(1000, 600_000).default(30_000),
    OUTBOX_SMTP_PORT: int(0, 65535).default(2525),
    MAIL_FROM: z.string().min(3).default("paperboy <digest@paperboy.localhost>"),
    MAIL_DOMAIN: z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a domain name").default("paperboy.localhost"),
    LIST_ID: z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a dot-atom like digest.example.org").default("digest.paperboy.localhost"),
    LIST_UNSUBSCRIBE_MAILTO: z.email().optional(),
    POSTAL_ADDRESS: z.string().min(1).default("paperboy, 1 Example Street, 10115 Berlin, Germany"),
    DKIM_DOMAIN: z.string().optional(),
    DKIM_SELECTOR: z.string().optional(),
    DKIM_PRIVATE_KEY: z.string().optional(),
    MAIL_FAST_PATHS: bool.default(true),

    PAPERS_SOURCES: csv
      .superRefine((list, ctx) => {
        const unknown = list.filter((s) => !/^(huggingface|arxiv|file:.+)$/.test(s));
        if (list.length === 0 || unknown.length > 0) {
          const what = unknown.map((s) => `unknown source "${s}"`).join(", ") || "no source";
          ctx.addIssue({ code: "custom", message: `${what}: use a comma list of huggingface, arxiv or file:PATH` });
        }
      })
      .default(["huggingface"]),
    /** Alias of PAPERS_SOURCES (PAPERS_SOURCE=file:data/sample); loadConfig folds it in. */
    PAPERS_SOURCE: z.string().optional(),
    HF_API_URL: url(["http:", "https:"]).default("https://huggingface.co"),
    ARXIV_API_URL: url(["http:", "https:"]).default("https://export.arxiv.org"),
    ARXIV_CATEGORIES: csv.default(["cs.CL", "cs.LG", "cs.AI", "cs.CV"]),
    HTTP_TIMEOUT_MS: int(100, 600_000).default(20_000),
    INGEST_CRON: z.string().min(9).default("15 * * * *"),
    INGEST_TZ: timeZone.default("UTC"),
    PLAN_CRON: z.string().min(9).default("0 * * * *"),

    SEND_BATCH_SIZE: int(1, 1000).default(250),
    SEND_CONCURRENCY: int(1, 64).default(2),
    SEND_RATE_PER_SECOND: int(1, 100_000).default(1000),
    SEND_MAX_ATTEMPTS: int(1, 50).default(5),
    SEND_RETRY_WINDOW_MS: int(1000, 7 * 86_400_000).default(7_200_000),
    SEND_RETRY_DELAY_MS: int(10, 3_600_000).default(5_000),
    SEND_RETRY_MAX_DELAY_MS: int(10, 3_600_000).default(300_000),
    SEND_LEASE_MS: int(1000, 3_600_000).default(120_000),
    SEND_GROUP_SIZE: int(1, 1000).default(16),
    SEND_GROUP_INTERVAL_MS: int(1, 10_000).default(10),
    SEND_SWEEP_AFTER_MS: int(60_000, 7 * 86_400_000).default(3_600_000),
    BOUNCE_LIMIT: int(1, 100).default(1),
    SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
    SCHEDULER_ENABLED: bool.default(true),
    WORKER_METRICS_PORT: int(1, 65535).optional(),

    SIGNUP_RATE_LIMIT_PER_IP: int(1, 1_000_000).default(10),
    SIGNUP_RATE_LIMIT_PER_ADDRESS: int(1, 1_000_000).default(5),
    SIGNUP_RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(600),
    CONFIRM_EMAILS_PER_HOUR: int(1, 100).default(3),
    TRANSACTIONAL_MAIL_ATTEMPTS: int(1, 100).default(10),
    TRANSACTIONAL_MAIL_BACKOFF_MS: int(1, 3_600_000).default(15_000),
  })
  .superRefine((c, ctx) => {
    if (c.NODE_ENV === "production" && !c.TOKEN_SECRET) {
      ctx.addIssue({ code: "custom", path: ["TOKEN_SECRET"], message: "is required in production" });
    }
    // The local outbox shows every email, live links included, to anyone: never in production.
    if (c.NODE_ENV === "production" && !c.SMTP_URL) {
      ctx.addIssue({ code: "custom", path: ["SMTP_URL"], message: "is required in production (the local outbox is for development only)" });
    }
    const dkim = [c.DKIM_DOMAIN, c.DKIM_SELECTOR, c.DKIM_PRIVATE_KEY].filter(Boolean).length;
    if (dkim !== 0 && dkim !== 3) {
      ctx.addIssue({ code: "custom", path: ["DKIM_PRIVATE_KEY"], message: "DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY go together" });
    }
  });

export type Config = z.infer<typeof configSchema>;

/** Config once openRuntime has filled TOKEN_SECRET (from the environment or DATA_DIR): what services receive. */
export type RuntimeConfig = Config & { TOKEN_SECRET: string };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Reads `.env` from the working directory into process.env, when there is one
 * (`cp .env.example .env`). Variables the real environment already sets win, so
 * `PORT=4000 npm start` still means port 4000. Entry points call it before loadConfig.
 */
export function loadEnvFile(file = ".env"): boolean {
  if (!existsSync(file)) return false;
  process.loadEnvFile(file);
  return true;
}

/** Empty strings count as unset, so `FOO=` in a .env file means "use the default". */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "") input[key] = value;
  }
  if (input.PAPERS_SOURCE !== undefined) {
    if (input.PAPERS_SOURCES !== undefined && input.PAPERS_SOURCES !== input.PAPERS_SOURCE) {
      throw new ConfigError(["PAPERS_SOURCE: is an alias of PAPERS_SOURCES; set one of them, not both"]);
    }
    input.PAPERS_SOURCES = input.PAPERS_SOURCE;
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join(".") || "(config)"}: ${i.message}`),
    );
  }
  return parsed.data;
}

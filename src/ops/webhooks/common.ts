import type { ReportedEvent } from "../../digests/email-events.js";
import { AppError } from "../../errors.js";

/**
 * What every provider webhook shares. A provider module turns its verified payload
 * into ReportedEvents (one per recipient and event); recording them is the same for all.
 */

/** Request headers as the HTTP layer hands them over (lower-case names). */
export type Headers = Record<string, string | string[] | undefined>;

export type ProviderEvent = Omit<ReportedEvent, "source">;

export const header = (headers: Headers, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The one constant-time compare, for the provider modules beside this one. */
export { sameSecret } from "../../subscribers/tokens.js";

/** The one refusal a provider sees for a missing or wrong signature or credential. */
export const badSignature = (what: string) => new AppError("UNAUTHORIZED", `${what} is missing or does not verify.`);

/** How long a delivery is remembered (record.ts), so that a provider's retry counts once. */
export const SEEN_TTL_SECONDS = 7 * 86_400;
/** Clock skew tolerated for a signed time in the future. */
const FUTURE_SKEW_SECONDS = 5 * 60;

/**
 * A signed delivery is accepted only while it would still be recognised if it came
 * again: no older than deliveries are remembered. A captured delivery replayed later
 * is then either a known duplicate or refused, never counted again (which would
 * re-suppress an address that subscribed again meanwhile).
 */
export function refuseStale(signedAtMs: number, now: Date, what: string): void {
  const age = (now.getTime() - signedAtMs) / 1000;
  if (!Number.isFinite(age) || age > SEEN_TTL_SECONDS || age < -FUTURE_SKEW_SECONDS) {
    throw badSignature(`${what} (older than a week, or in the future)`);
  }
}

/** A provider's free text (reason, diagnostic) as a short detail line. */
export function detail(...parts: (string | number | null | undefined)[]): string | undefined {
  const text = parts.filter((p) => p !== undefined && p !== null && p !== "").join(": ");
  return text ? text.slice(0, 500) : undefined;
}

import type { SendStatus } from "../../digests/status.js";
import { html, type SafeHtml } from "../html.js";
import { atInZone, calendarDay } from "./times.js";

/** What became of a digest, in words a subscriber reads. */
const STATUS_WORDS: Record<string, string> = {
  sent: "sent",
  empty: "nothing new matched your topics, so no email was sent",
  queued: "on its way",
  sending: "on its way",
  failed: "could not be sent; we gave up after several tries",
  bounced: "your mail server refused it",
  skipped: "not sent: your subscription was paused or ended",
};

/**
 * The manage page's answer to "why did I get nothing?": the last digest, when the next
 * one comes and whether papers are coming in, in plain words and the subscriber's time.
 */
export function sendStatusSection(s: SendStatus): SafeHtml {
  const last = s.lastDigest;
  const next = s.nextSend;
  const ingest = s.lastIngest;
  const tz = s.timezone;
  const lastText = last
    ? `${last.sentAt ? atInZone(last.sentAt, tz) : calendarDay(last.period)}: ${
        last.status === "empty" ? STATUS_WORDS.empty : `${last.paperCount} paper${last.paperCount === 1 ? "" : "s"}, ${STATUS_WORDS[last.status] ?? last.status}`
      }.`
    : "None yet.";
  const nextText = next
    ? next.dueNow
      ? `Within the hour: your send time today (${atInZone(next.at, tz)}) has passed.`
      : `${atInZone(next.at, tz)}.`
    : "None while your subscription is paused or not active.";
  const papersText = !ingest
    ? "No papers have been fetched yet."
    : ingest.status === "failed"
      ? `The last try to fetch new papers (${atInZone(ingest.startedAt, tz)}) failed; paperboy tries again every hour.`
      : `New papers were last fetched ${atInZone(ingest.finishedAt ?? ingest.startedAt, tz)}.`;
  return html`<dl class="status">
<dt>Last digest</dt><dd>${lastText}</dd>
<dt>Next digest</dt><dd>${nextText}</dd>
<dt>Papers</dt><dd>${papersText}</dd>
</dl>
<p class="hint">Times are in your time zone, ${tz}.</p>`;
}

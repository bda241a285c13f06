import type { SendStatus } from "../../digests/status.js";
import { html, type SafeHtml } from "../html.js";

const STATUS_WORDS: Record<string, string> = {
  sent: "sent",
  empty: "nothing matched your topics, so no email was sent",
  queued: "waiting to be sent",
  sending: "being sent",
  failed: "could not be sent",
  bounced: "bounced",
  skipped: "not sent (subscription paused or ended)",
};

const when = (iso: string) => iso.replace("T", " ").slice(0, 16) + " UTC";

/** The manage page's answer to "why did I get nothing?": last digest, next send, last ingest. */
export function sendStatusSection(s: SendStatus): SafeHtml {
  const last = s.lastDigest;
  const next = s.nextSend;
  const ingest = s.lastIngest;
  return html`<h2>Your digest</h2>
<dl class="status">
<dt>Last digest</dt><dd>${last ? `${last.period}: ${last.paperCount} paper${last.paperCount === 1 ? "" : "s"}, ${STATUS_WORDS[last.status] ?? last.status}${last.sentAt ? ` at ${when(last.sentAt)}` : ""}` : "None yet."}</dd>
<dt>Next digest</dt><dd>${next ? `${next.atLocal.replace("T", " ")} (${s.timezone})${next.dueNow ? " — due now, on its way within the hour" : ""}` : "None planned while your subscription is paused or not active."}</dd>
<dt>Latest papers</dt><dd>${ingest ? `${ingest.source}, listing day ${ingest.day}: ${ingest.status === "failed" ? "the last fetch failed; we will retry" : `${ingest.inserted} new, ${ingest.updated} updated`} (${when(ingest.startedAt)})` : "No papers fetched yet."}</dd>
</dl>`;
}

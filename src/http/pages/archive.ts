import { periodLabel } from "../../digests/wording.js";
import { html, type SafeHtml } from "../html.js";

export interface ArchiveItem {
  period: string;
  paperCount: number;
  sentAt: Date;
  viewUrl: string;
}

/** The manage page's "Past digests" (each with its view-in-browser link) and the personal Atom feed. */
export function archiveSection(o: { token: string; items: ArchiveItem[]; feedUrl: string; frequency: "daily" | "weekly" }): SafeHtml {
  return html`<section class="card" id="archive" aria-labelledby="archive-title">
<h2 id="archive-title">Past digests</h2>
${o.items.length > 0
  ? html`<ul class="archive">${o.items.map((d) => html`<li><a href="${d.viewUrl}">${periodLabel(d.period, o.frequency)}</a> <span class="muted">· ${d.paperCount} ${d.paperCount === 1 ? "paper" : "papers"}</span></li>`)}</ul>`
  : html`<p class="muted">No digest has been sent to you yet.</p>`}
<h3>Your Atom feed</h3>
<p class="hint">Follow your digests in a feed reader. Anyone with this link can read them: if it leaked, get a new one (the old link stops working; your emails' other links keep working).</p>
<p><input type="text" readonly aria-label="Your feed link" value="${o.feedUrl}"></p>
<p><a href="${o.feedUrl}">Open the feed</a></p>
<form method="post" action="/manage/feed/revoke"><input type="hidden" name="token" value="${o.token}"><button type="submit" class="secondary">Get a new feed link</button></form>
</section>`;
}

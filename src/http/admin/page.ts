import type { DigestDay, FailedDigestRow, IngestRunRow, SignupDay, StatusCount } from "../../ops/stats.js";
import { html, type SafeHtml } from "../html.js";
import { layout } from "../pages/layout.js";
import { digestChart } from "./chart.js";

export interface QueueDepth {
  name: string;
  counts: Record<string, number>;
}

export interface ScheduledRun {
  queue: string;
  key: string;
  pattern: string | null;
  tz: string | null;
  next: Date | null;
}

export interface DashboardData {
  subscribers: StatusCount[];
  signups: SignupDay[];
  digests: DigestDay[];
  ingestRuns: IngestRunRow[];
  failedDigests: FailedDigestRow[];
  queues: QueueDepth[];
  schedules: ScheduledRun[];
  sources: string[];
  today: string;
  testDigestAvailable: boolean;
  notice?: { kind: "ok" | "error"; text: string } | undefined;
}

export const QUEUE_STATES = ["waiting", "active", "delayed", "prioritized", "failed", "completed"] as const;

const when = (d: Date | null) => (d ? d.toISOString().replace("T", " ").slice(0, 19) + " UTC" : "—");
const sum = <T>(rows: T[], f: (r: T) => number) => rows.reduce((a, r) => a + f(r), 0);

function section(title: string, id: string, body: SafeHtml): SafeHtml {
  return html`<section class="card" aria-labelledby="${id}"><h2 id="${id}">${title}</h2>${body}</section>`;
}

export function dashboardPage(d: DashboardData): string {
  const subscribersTotal = sum(d.subscribers, (s) => s.count);
  const signups30 = sum(d.signups, (s) => s.signups);
  const confirmations30 = sum(d.signups, (s) => s.confirmations);

  const body = html`<div class="admin">
<h1>Admin</h1>
<p class="muted">Queues in detail: <a href="/admin/queues">/admin/queues</a> · Metrics: <a href="/metrics">/metrics</a></p>
${d.notice ? html`<p class="notice ${d.notice.kind}" role="status">${d.notice.text}</p>` : ""}

${section("Subscribers", "subscribers", html`<div class="scroll"><table class="numbers"><thead><tr>${d.subscribers.map((s) => html`<th scope="col">${s.status}</th>`)}<th scope="col">total</th></tr></thead>
<tbody><tr>${d.subscribers.map((s) => html`<td data-status="${s.status}">${s.count}</td>`)}<td>${subscribersTotal}</td></tr></tbody></table></div>
<p>Last ${d.signups.length} days: <strong>${signups30}</strong> signups, <strong>${confirmations30}</strong> confirmations.</p>
<details><summary>Signups and confirmations per day</summary>
<div class="scroll"><table class="numbers"><thead><tr><th scope="col">Day</th><th scope="col">Signups</th><th scope="col">Confirmations</th></tr></thead>
<tbody>${[...d.signups].reverse().map((s) => html`<tr data-day="${s.day}"><td>${s.day}</td><td>${s.signups}</td><td>${s.confirmations}</td></tr>`)}</tbody></table></div>
</details>`)}

${section("Digests per day", "digests", html`<div class="scroll chart">${digestChart(d.digests)}</div>
<details><summary>As a table</summary>
<div class="scroll"><table class="numbers"><thead><tr><th scope="col">Day</th><th scope="col">Sent</th><th scope="col">Empty</th><th scope="col">Failed</th><th scope="col">Bounced</th></tr></thead>
<tbody>${[...d.digests].reverse().map((r) => html`<tr><td>${r.day}</td><td>${r.sent}</td><td>${r.empty}</td><td>${r.failed}</td><td>${r.bounced}</td></tr>`)}</tbody></table></div>
</details>`)}

${section("Failed digests", "failed", d.failedDigests.length === 0
  ? html`<p class="muted">No failed digests.</p>`
  : html`<div class="scroll"><table><thead><tr><th scope="col">Digest</th><th scope="col">Subscriber</th><th scope="col">Period</th><th scope="col">Attempts</th><th scope="col">Error</th><th scope="col"></th></tr></thead><tbody>
${d.failedDigests.map((f) => html`<tr><td>#${f.id}</td><td>#${f.subscriberId}</td><td>${f.period}</td><td>${f.attempts}</td><td class="err">${f.error ?? ""}</td>
<td><form method="post" action="/admin/digests/${f.id}/resend"><button type="submit" class="secondary">Resend</button></form></td></tr>`)}
</tbody></table></div>`)}

${section("Ingest runs", "ingest", d.ingestRuns.length === 0
  ? html`<p class="muted">No ingest has run yet.</p>`
  : html`<div class="scroll"><table><thead><tr><th scope="col">Started</th><th scope="col">Source</th><th scope="col">Day</th><th scope="col">Status</th><th scope="col">Fetched</th><th scope="col">New</th><th scope="col">Updated</th><th scope="col">Skipped</th><th scope="col">Took</th></tr></thead><tbody>
${d.ingestRuns.map((r) => html`<tr class="run ${r.status}"><td>${when(r.startedAt)}</td><td>${r.source}</td><td>${r.day}</td><td>${r.status}</td><td>${r.fetched}</td><td>${r.inserted}</td><td>${r.updated}</td><td>${r.skipped}</td><td>${r.durationMs === null ? "—" : `${(r.durationMs / 1000).toFixed(1)} s`}</td></tr>
${r.error ? html`<tr class="run-error"><td></td><td colspan="8" class="err">${r.error}</td></tr>` : ""}`)}
</tbody></table></div>`)}

${section("Queues", "queues", html`<div class="scroll"><table class="numbers"><thead><tr><th scope="col">Queue</th>${QUEUE_STATES.map((s) => html`<th scope="col">${s}</th>`)}</tr></thead><tbody>
${d.queues.map((q) => html`<tr data-queue="${q.name}"><th scope="row">${q.name}</th>${QUEUE_STATES.map((s) => html`<td>${q.counts[s] ?? 0}</td>`)}</tr>`)}
</tbody></table></div>
<h3>Next scheduled runs</h3>
${d.schedules.length === 0
  ? html`<p class="muted">No job schedulers registered (a worker registers them at boot unless SCHEDULER_ENABLED=false).</p>`
  : html`<div class="scroll"><table><thead><tr><th scope="col">Queue</th><th scope="col">Scheduler</th><th scope="col">Pattern</th><th scope="col">Next run</th></tr></thead><tbody>
${d.schedules.map((s) => html`<tr><td>${s.queue}</td><td>${s.key}</td><td><code>${s.pattern ?? "—"}</code>${s.tz ? html` <span class="muted">${s.tz}</span>` : ""}</td><td>${when(s.next)}</td></tr>`)}
</tbody></table></div>`}`)}

${section("Actions", "actions", html`<div class="actions">
<form method="post" action="/admin/actions/ingest" class="action">
<h3>Ingest now</h3>
<label for="ingest-day">Day</label><input id="ingest-day" name="day" type="date" value="${d.today}" required>
<label for="ingest-source">Source</label><select id="ingest-source" name="source"><option value="">every configured source</option>${d.sources.map((s) => html`<option value="${s}">${s}</option>`)}</select>
<p><button type="submit">Queue ingest</button></p>
</form>
<form method="post" action="/admin/actions/plan" class="action">
<h3>Plan and send now</h3>
<p class="hint">Plans digests for every subscriber whose send time has come, then sends them.</p>
<p><button type="submit">Queue plan</button></p>
</form>
<form method="post" action="/admin/actions/test-digest" class="action">
<h3>Send a test digest</h3>
${d.testDigestAvailable ? "" : html`<p class="error">Not available in this build: the digest renderer is not wired into the API.</p>`}
<label for="test-email">To</label><input id="test-email" name="email" type="email" required autocomplete="off">
<label for="test-topics">Topics <span class="muted">(empty: the trending digest)</span></label><textarea id="test-topics" name="topics" placeholder="one per line, e.g. diffusion models"></textarea>
<p><button type="submit"${d.testDigestAvailable ? "" : html` disabled`}>Send test digest</button></p>
</form>
</div>`)}
</div>`;
  return layout({ title: "Admin", body });
}

export function adminOffPage(): string {
  return layout({
    title: "Admin is off",
    body: html`<h1>Admin is off</h1><div class="card"><p>The admin pages are turned off because no <code>ADMIN_TOKEN</code> is configured.</p>
<p>To turn them on, set <code>ADMIN_TOKEN</code> (at least 16 characters, e.g. <code>openssl rand -base64 32</code>) in the environment of the API and restart it. Then open <code>/admin</code> and give the token as the password (any user name), or send it as <code>Authorization: Bearer &lt;token&gt;</code>.</p></div>`,
  });
}

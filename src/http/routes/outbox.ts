import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError } from "../../errors.js";
import type { AppDeps } from "../deps.js";
import { html } from "../html.js";
import { layout } from "../pages/layout.js";

/**
 * What the frame holding a received email may do: open its links in a new tab (not
 * sandboxed there, so the pages they lead to work) or, when a link asks for it, in this
 * tab on a click. No scripts, no forms, no same-origin access: the email stays inert.
 */
const SANDBOX = "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation";

/** Links in the email open in a new tab, as a webmail's do, instead of inside the small frame. */
function linksOpenInNewTab(emailHtml: string): string {
  const base = '<base target="_blank">';
  const head = /<head(\s[^>]*)?>/i.exec(emailHtml);
  return head ? emailHtml.slice(0, head.index + head[0].length) + base + emailHtml.slice(head.index + head[0].length) : base + emailHtml;
}

/** The local outbox, readable in the browser: only mounted when mail goes to it. */
export const outboxRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  const outbox = deps.outbox;
  if (!outbox) return;

  app.get("/outbox", { schema: { hide: true }, config: { page: true } }, (_req, reply) => {
    const messages = outbox.list();
    const body = html`<h1>Local outbox</h1>
<p class="muted">Mail sent by this paperboy (no SMTP_URL set) lands here instead of real inboxes: ${messages.length} message${messages.length === 1 ? "" : "s"}. SMTP on port ${outbox.port}.</p>
${messages.length === 0
  ? html`<div class="card"><p>No mail yet. Sign up on <a href="/">the front page</a> and the confirmation email appears here.</p></div>`
  : html`<table class="wrap"><thead><tr><th>Received</th><th>To</th><th>Subject</th></tr></thead><tbody>
${messages.map((m) => html`<tr><td>${m.receivedAt.toISOString().replace("T", " ").slice(0, 19)}</td><td>${m.to.join(", ")}</td><td><a href="/outbox/${m.id}">${m.subject || "(no subject)"}</a></td></tr>`)}
</tbody></table>`}`;
    return reply.html(layout({ title: "Outbox", body }));
  });

  const params = z.object({ id: z.string().regex(/^[0-9]+-[0-9]+$/) });

  app.get("/outbox/:id", { schema: { hide: true, params }, config: { page: true } }, (req, reply) => {
    const m = outbox.get(req.params.id);
    if (!m) throw new AppError("NOT_FOUND", "No such message in the outbox.");
    const body = html`<p><a href="/outbox">← Outbox</a></p>
<h1>${m.subject || "(no subject)"}</h1>
<p class="muted">From ${m.from} to ${m.to.join(", ")} · ${m.receivedAt.toISOString()} · ${Math.round(m.size / 1024)} KB</p>
<h2>HTML</h2>
${m.html ? html`<iframe title="HTML part" sandbox="${SANDBOX}" src="/outbox/${m.id}/html" style="width:100%;height:70vh;border:1px solid var(--line);border-radius:8px;background:#fff"></iframe>` : html`<p class="muted">No HTML part.</p>`}
<h2>Text</h2><pre>${m.text ?? "(no text part)"}</pre>
<h2>Headers</h2><table class="wrap">${m.headers.map((h) => html`<tr><th>${h.key}</th><td>${h.value}</td></tr>`)}</table>`;
    return reply.html(layout({ title: m.subject, body }));
  });

  app.get("/outbox/:id/html", { schema: { hide: true, params }, config: { page: true } }, (req, reply) => {
    const m = outbox.get(req.params.id);
    if (!m?.html) throw new AppError("NOT_FOUND", "No HTML part.");
    // The message is shown as sent, links aside; the sandboxed frame and this CSP keep its scripts inert.
    return reply
      .header("content-security-policy", `default-src 'none'; img-src * data:; style-src 'unsafe-inline'; sandbox ${SANDBOX}`)
      .html(linksOpenInNewTab(m.html));
  });
};

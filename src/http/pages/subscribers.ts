import type { FieldError } from "../../subscribers/preferences.js";
import type { PreferenceField, Preferences } from "../../subscribers/service.js";
import { html, type SafeHtml } from "../html.js";
import { layout } from "./layout.js";

/**
 * Server-rendered pages for subscribers. Everything works without JavaScript;
 * signup.js and preview.js only improve it. Scripts are same-origin files (CSP).
 */

/** What a form holds, as typed: re-rendered after a refusal so nothing is lost. */
export interface FormValues {
  email?: string;
  topics?: string;
  frequency?: string;
  weekday?: string;
  sendHour?: string;
  timezone?: string;
  maxPapers?: string;
  sendWhenEmpty?: boolean;
  addTrending?: boolean;
}

const FORM_SCRIPTS = ["/assets/signup.js", "/assets/preview.js"];
const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/** Errors keyed by the form field they belong to (`topics.3` belongs to `topics`). */
function byField(errors: FieldError[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of errors) {
    const [head, index] = e.field.split(".");
    const key = head ?? e.field;
    const message = index !== undefined && /^[0-9]+$/.test(index) ? `Topic ${Number(index) + 1}: ${e.message}` : e.message;
    if (!out.has(key)) out.set(key, message);
  }
  return out;
}

function fieldError(errors: Map<string, string>, name: string): SafeHtml {
  const message = errors.get(name);
  return html`<p class="error" id="${name}-error" data-error-for="${name}" role="alert"${message ? "" : html` hidden`}>${message ?? ""}</p>`;
}

const described = (errors: Map<string, string>, name: string, hint?: string) =>
  [hint ? `${name}-hint` : "", errors.has(name) ? `${name}-error` : ""].filter(Boolean).join(" ") || undefined;

function attr(name: string, value: string | undefined): SafeHtml {
  return value === undefined ? html`` : html` ${name}="${value}"`;
}

/** The preference fields shared by the signup and manage forms. */
function preferenceFields(v: FormValues, errors: Map<string, string>): SafeHtml {
  const frequency = v.frequency ?? "daily";
  const weekday = v.weekday ?? "1";
  const sendHour = v.sendHour ?? "8";
  return html`
<label for="topics">Topics <span class="muted">(one per line, optional)</span></label>
<p class="hint" id="topics-hint">Up to 20 topics, each 2–100 characters, in web-search syntax: <code>diffusion models</code>, <code>"test-time compute"</code>, <code>reasoning -survey</code>, <code>mamba or ssm</code>. Leave empty to get the day's trending papers (most upvoted first).</p>
<textarea id="topics" name="topics" rows="5"${attr("aria-describedby", described(errors, "topics", "hint"))}${errors.has("topics") ? html` aria-invalid="true"` : html``}>${v.topics ?? ""}</textarea>
${fieldError(errors, "topics")}
<div data-topic-preview></div>
<div class="row">
  <div>
    <label for="frequency">How often</label>
    <select id="frequency" name="frequency">
      <option value="daily"${frequency === "daily" ? html` selected` : html``}>Daily</option>
      <option value="weekly"${frequency === "weekly" ? html` selected` : html``}>Weekly</option>
    </select>
    ${fieldError(errors, "frequency")}
  </div>
  <div data-weekday>
    <label for="weekday">Weekday</label>
    <select id="weekday" name="weekday">
      ${WEEKDAYS.map((d, i) => html`<option value="${String(i + 1)}"${String(i + 1) === weekday ? html` selected` : html``}>${d}</option>`)}
    </select>
    ${fieldError(errors, "weekday")}
  </div>
</div>
<div class="row">
  <div>
    <label for="sendHour">Send at</label>
    <select id="sendHour" name="sendHour">
      ${Array.from({ length: 24 }, (_, h) => html`<option value="${String(h)}"${String(h) === sendHour ? html` selected` : html``}>${String(h).padStart(2, "0")}:00</option>`)}
    </select>
    ${fieldError(errors, "sendHour")}
  </div>
  <div>
    <label for="timezone">Time zone</label>
    <input id="timezone" name="timezone" type="text" autocomplete="off" spellcheck="false" required maxlength="64" value="${v.timezone ?? "UTC"}"${attr("aria-describedby", described(errors, "timezone", "hint"))}${errors.has("timezone") ? html` aria-invalid="true"` : html``}>
    <p class="hint" id="timezone-hint">An IANA name such as Europe/Berlin or America/New_York.</p>
    ${fieldError(errors, "timezone")}
  </div>
</div>
<label for="maxPapers">Papers per digest</label>
<input id="maxPapers" name="maxPapers" type="number" inputmode="numeric" min="5" max="50" step="1" required value="${v.maxPapers ?? "10"}"${attr("aria-describedby", described(errors, "maxPapers"))}${errors.has("maxPapers") ? html` aria-invalid="true"` : html``}>
${fieldError(errors, "maxPapers")}
<label class="check"><input type="checkbox" name="addTrending" value="on"${v.addTrending ? html` checked` : html``}> Also add the top 3 trending papers to my topics' matches</label>
${fieldError(errors, "addTrending")}
<label class="check"><input type="checkbox" name="sendWhenEmpty" value="on"${v.sendWhenEmpty ? html` checked` : html``}> Send a digest even when no paper matches</label>
${fieldError(errors, "sendWhenEmpty")}`;
}

export function signupPage(values: FormValues = {}, errors: FieldError[] = []): string {
  const e = byField(errors);
  const general = errors.length > 0 ? html`<p class="error" role="alert">Please fix the ${errors.length === 1 ? "field" : "fields"} marked below.</p>` : html``;
  const body = html`<h1>Trending research papers in your inbox</h1>
<p>Tell us what you follow. Every morning (or once a week) paperboy emails you the new papers that match, and says which of your topics each one matched. Follow no topics and you get the day's trending papers, most upvoted first.</p>
<form class="card" method="post" action="/subscribe" data-signup-form novalidate${values.timezone === undefined ? html` data-fresh` : html``}>
${general}
<p class="error" data-error-for="form" role="alert" hidden></p>
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required maxlength="254" value="${values.email ?? ""}"${attr("aria-describedby", described(e, "email"))}${e.has("email") ? html` aria-invalid="true"` : html``}>
${fieldError(e, "email")}
${preferenceFields(values, e)}
<p><button type="submit">Subscribe</button></p>
<p class="hint">We send a confirmation link first; nothing else arrives until you click it. Every email has a one-click unsubscribe.</p>
</form>`;
  return layout({ title: "Subscribe", body, scripts: FORM_SCRIPTS });
}

export function checkInboxPage(message: string): string {
  const body = html`<h1>Check your inbox</h1>
<div class="card" role="status"><p>${message}</p><p class="muted">No email after a few minutes? Look in your spam folder, or <a href="/subscribe">sign up again</a>.</p></div>`;
  return layout({ title: "Check your inbox", body });
}

/** A page with one button that POSTs the token: GETs change nothing. */
export function actionPage(opts: { title: string; text: string; action: string; token: string; button: string; secondary?: SafeHtml }): string {
  const body = html`<h1>${opts.title}</h1>
<form class="card" method="post" action="${opts.action}">
<p>${opts.text}</p>
<input type="hidden" name="token" value="${opts.token}">
<p><button type="submit">${opts.button}</button></p>
${opts.secondary}
</form>`;
  return layout({ title: opts.title, body });
}

function topicList(topics: string[]): SafeHtml {
  return topics.length > 0
    ? html`<ul class="topics">${topics.map((t) => html`<li>${t}</li>`)}</ul>`
    : html`<p class="muted">No topics: you get the trending papers, most upvoted first.</p>`;
}

export function welcomePage(opts: { title: string; intro: string; topics: string[]; manageUrl: string }): string {
  const body = html`<h1>${opts.title}</h1>
<div class="card" role="status">
<p>${opts.intro}</p>
<h2>Your topics</h2>
${topicList(opts.topics)}
<p><a class="button" href="${opts.manageUrl}">Manage my subscription</a></p>
<p class="hint">Keep this link (it is also at the bottom of every digest): it changes topics, schedule and time zone, pauses or unsubscribes.</p>
</div>`;
  return layout({ title: opts.title, body });
}

export function unsubscribedPage(opts: { token: string; alreadyWasUnsubscribed: boolean }): string {
  const body = html`<h1>You are unsubscribed</h1>
<div class="card" role="status">
<p>${opts.alreadyWasUnsubscribed ? "This address was already unsubscribed." : "Done: paperboy will not email you again, including any digest already on its way."}</p>
</div>
<form class="card" method="post" action="/resubscribe">
<p>Changed your mind or clicked by mistake?</p>
<input type="hidden" name="token" value="${opts.token}">
<p><button type="submit" class="secondary">Resubscribe</button></p>
</form>`;
  return layout({ title: "Unsubscribed", body });
}

const FIELD_NAMES: Record<PreferenceField, string> = {
  topics: "Topics",
  frequency: "How often",
  weekday: "Weekday",
  sendHour: "Send hour",
  timezone: "Time zone",
  maxPapers: "Papers per digest",
  sendWhenEmpty: "Send even when nothing matches",
  addTrending: "Also add the top 3 trending papers",
  paused: "Paused",
};

function describe(field: PreferenceField, p: Preferences): string {
  switch (field) {
    case "topics":
      return p.topics.length > 0 ? p.topics.join(", ") : "none (trending papers)";
    case "weekday":
      return WEEKDAYS[p.weekday - 1] ?? String(p.weekday);
    case "sendHour":
      return `${String(p.sendHour).padStart(2, "0")}:00`;
    case "sendWhenEmpty":
    case "addTrending":
    case "paused":
      return p[field] ? "yes" : "no";
    default:
      return String(p[field]);
  }
}

export function toFormValues(p: Preferences): FormValues {
  return {
    topics: p.topics.join("\n"),
    frequency: p.frequency,
    weekday: String(p.weekday),
    sendHour: String(p.sendHour),
    timezone: p.timezone,
    maxPapers: String(p.maxPapers),
    sendWhenEmpty: p.sendWhenEmpty,
    addTrending: p.addTrending,
  };
}

export interface ManagePageOptions {
  token: string;
  preferences: Preferences;
  /** The form as typed, when a save was refused. */
  values?: FormValues;
  errors?: FieldError[];
  /** Fields the last save changed ("saving shows what changed"); an empty list means nothing changed. */
  changed?: PreferenceField[];
  notice?: string;
  /**
   * SEND STATUS SLOT: rendered as the "Your digest" section near the top of the
   * manage page (last digest, next send time, last ingest run). Left for the lead to fill.
   */
  status?: SafeHtml;
  /** Recent votes with undo and suggested topics (pages/feedback.ts). */
  votes?: SafeHtml;
  /** Past digests and the personal feed (pages/archive.ts). */
  archive?: SafeHtml;
}

export function managePage(o: ManagePageOptions): string {
  const p = o.preferences;
  const e = byField(o.errors ?? []);
  const values = o.values ?? toFormValues(p);
  const changes =
    o.changed === undefined
      ? html``
      : o.changed.length === 0
        ? html`<div class="card" role="status"><p>Saved. Nothing changed.</p></div>`
        : html`<div class="card" role="status" data-changes><p>Saved. What changed:</p><ul>${o.changed.map((f) => html`<li><strong>${FIELD_NAMES[f]}</strong>: ${describe(f, p)}</li>`)}</ul></div>`;
  const state =
    p.status === "active"
      ? p.paused
        ? "paused: no digests until you resume"
        : "active"
      : p.status === "pending"
        ? "waiting for you to confirm (see the email we sent)"
        : p.status === "unsubscribed"
          ? "unsubscribed: we send you nothing"
          : "stopped: your address refused our email";
  const body = html`<h1>Your subscription</h1>
<p>For <strong>${p.email ?? ""}</strong> · ${state}</p>
${o.notice ? html`<div class="card" role="status"><p>${o.notice}</p></div>` : html``}
${changes}
${o.status ? html`<section class="card" aria-labelledby="digest-status"><h2 id="digest-status">Your digest</h2>${o.status}</section>` : html``}
<form class="card" method="post" action="/manage" data-manage-form novalidate>
<h2>Preferences</h2>
${(o.errors ?? []).length > 0 ? html`<p class="error" role="alert">Nothing was saved: please fix the fields marked below.</p>` : html``}
<input type="hidden" name="token" value="${o.token}">
${preferenceFields(values, e)}
<p><button type="submit">Save changes</button></p>
</form>
${o.votes}
${o.archive}
<div class="card">
<h2>Pause, leave or take your data</h2>
<div class="row">
${p.status === "active"
  ? html`<form method="post" action="${p.paused ? "/manage/resume" : "/manage/pause"}"><input type="hidden" name="token" value="${o.token}"><button type="submit" class="secondary">${p.paused ? "Resume digests" : "Pause digests"}</button></form>`
  : html``}
${p.status === "active" || p.status === "pending"
  ? html`<form method="post" action="/manage/unsubscribe"><input type="hidden" name="token" value="${o.token}"><button type="submit" class="secondary">Unsubscribe</button></form>`
  : html``}
<form method="get" action="/manage/data"><input type="hidden" name="token" value="${o.token}"><button type="submit" class="secondary">Download my data (JSON)</button></form>
</div>
</div>`;
  return layout({ title: "Manage subscription", body, scripts: FORM_SCRIPTS });
}

import { excerpt, highlight, highlighter, squeeze, webUrl, type Segment } from "../../digests/text.js";
import type { ListedPaper } from "../../papers/listing.js";
import { html, type SafeHtml } from "../html.js";
import { layout } from "./layout.js";

/**
 * The Daily Papers pages: a listing day (or week, or a search) ranked as the page says,
 * with the one-field "trending papers in your inbox" box on top. Server-rendered and
 * complete without JavaScript; signup.js only sends the box through the JSON API.
 */

export const PAPERS_CSS = `
main:has(>.papers),body:has(main>.papers) header.site{max-width:56rem}
.papers h1{font-size:1.5rem;margin:.5rem 0}
.subscribe{display:grid;gap:.4rem}.subscribe label{margin:0;font-size:1.05rem}
.subscribe .inline{display:flex;gap:.5rem;flex-wrap:wrap}.subscribe .inline input{flex:1 1 12rem;min-width:0}.subscribe .inline button{flex:0 0 auto}
.subscribe .hint{margin:0}
nav.days{display:flex;gap:.5rem 1rem;flex-wrap:wrap;align-items:center;margin:.5rem 0}
form.search{display:flex;gap:.5rem;flex-wrap:wrap;margin:.75rem 0}form.search input{flex:1 1 12rem;min-width:0}form.search button{flex:0 0 auto}
ol.papers-list{list-style:none;padding:0;margin:0}
ol.papers-list>li{border-bottom:1px solid var(--line);padding:1rem 0;overflow-wrap:anywhere}
.paper h2{font-size:1.1rem;line-height:1.35;margin:0}.paper h2 a{color:inherit;text-decoration:none}.paper h2 a:hover{text-decoration:underline}
.paper .meta{color:var(--muted);font-size:.9rem;margin:.2rem 0;display:flex;gap:.25rem .75rem;flex-wrap:wrap}
.paper .names{display:none}@media (min-width:40rem){.paper .names{display:inline}}
.paper .votes{font-weight:600;color:var(--fg)}
.paper p.summary{margin:.4rem 0}
.paper ul.keywords{list-style:none;padding:0;margin:.3rem 0;display:flex;flex-wrap:wrap;gap:.3rem}
.paper ul.keywords li{font-size:.8rem;border:1px solid var(--line);border-radius:999px;padding:.05rem .55rem;color:var(--muted)}
.paper .links{font-size:.9rem;display:flex;gap:.75rem;flex-wrap:wrap}
mark{background:#fff3bf;color:inherit;padding:0 .1em;border-radius:2px}
@media (prefers-color-scheme:dark){mark{background:#5c4b00}}
`;

const dayFormat = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
/** "Fri, 27 Nov 2026" for a listing day. */
export const dayLabel = (day: string) => dayFormat.format(new Date(`${day}T12:00:00Z`));

const WIDE_AUTHORS = 3;

function marked(segments: Segment[]): SafeHtml[] {
  return segments.map((s) => (s.hit ? html`<mark>${s.text}</mark>` : html`${s.text}`));
}

function codeUrl(repo: string | null): string | null {
  if (!repo) return null;
  const r = repo.trim();
  return /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(r) ? `https://github.com/${r}` : webUrl(r);
}

function paperItem(p: ListedPaper, words: string[] | undefined): SafeHtml {
  const re = words && words.length > 0 ? highlighter(words) : null;
  const arxiv = webUrl(p.arxivUrl) ?? `https://arxiv.org/abs/${encodeURIComponent(p.arxivId)}`;
  const url = webUrl(p.hfUrl) ?? arxiv;
  const summary = excerpt(p.aiSummary?.trim() ? p.aiSummary : p.abstract);
  const names = p.authors.map((a) => a.trim()).filter((a) => a.length > 0);
  const n = names.length;
  const wide = n > 0 ? names.slice(0, WIDE_AUTHORS).join(", ") + (n > WIDE_AUTHORS ? " et al." : "") : "";
  const code = codeUrl(p.githubRepo);
  const project = webUrl(p.projectPage);
  return html`<li class="paper" data-arxiv-id="${p.arxivId}" data-upvotes="${p.upvotes}">
<h2><a href="${url}">${marked(highlight(squeeze(p.title).trim(), re))}</a></h2>
<div class="meta"><span class="votes" title="upvotes">▲ ${p.upvotes}</span><span>${n === 1 ? "1 author" : `${n} authors`}${wide ? html`<span class="names">: ${wide}</span>` : html``}</span><time datetime="${p.listingDay}">${dayLabel(p.listingDay)}</time></div>
<p class="summary">${marked(highlight(summary, re))}</p>
${p.aiKeywords.length > 0 ? html`<ul class="keywords" aria-label="AI keywords">${p.aiKeywords.slice(0, 8).map((k) => html`<li>${k}</li>`)}</ul>` : html``}
<div class="links"><a href="${arxiv}">arXiv</a><a href="${webUrl(p.pdfUrl) ?? arxiv}">PDF</a>${code ? html`<a href="${code}">Code</a>` : html``}${project ? html`<a href="${project}">Project</a>` : html``}</div>
</li>`;
}

/** The header box: an email, and the trending digest it starts (double opt-in as every signup). */
function subscribeBox(): SafeHtml {
  return html`<form class="card subscribe" method="post" action="/subscribe" data-signup-form data-fresh novalidate>
<label for="email">Get trending papers in your email inbox</label>
<div class="inline"><input id="email" name="email" type="email" autocomplete="email" required maxlength="254" placeholder="you@example.org" aria-describedby="subscribe-hint"><button type="submit">Subscribe</button></div>
<input type="hidden" id="timezone" name="timezone" value="UTC">
<p class="error" id="email-error" data-error-for="email" role="alert" hidden></p>
<p class="error" data-error-for="form" role="alert" hidden></p>
<p class="hint" id="subscribe-hint">Every morning, the most upvoted papers of the day before. We email a confirmation link first. <a href="/subscribe">Choose topics instead</a></p>
</form>`;
}

function searchBox(q: string): SafeHtml {
  return html`<form class="search" method="get" action="/search" role="search">
<input id="q" name="q" type="search" maxlength="100" value="${q}" placeholder='Search: diffusion models, "test-time compute", mamba or ssm' aria-label="Search papers (web-search syntax)">
<button type="submit">Search</button>
</form>`;
}

export interface ListingPageOptions {
  kind: "day" | "week" | "search";
  /** Day: the listing day; week: its Monday; search: unused. */
  from: string | null;
  to: string | null;
  prev: string | null;
  next: string | null;
  papers: ListedPaper[];
  q: string;
  /** Matched words per paper id, for highlighting (search only). */
  words?: Map<number, string[]>;
  /** Where this page's Atom feed lives. */
  feed: string;
}

export function listingPage(o: ListingPageOptions): string {
  const title =
    o.kind === "search"
      ? `Papers matching “${o.q}”`
      : o.kind === "week"
        ? `Week of ${o.from ? dayLabel(o.from) : ""}`
        : o.from
          ? `Daily Papers · ${dayLabel(o.from)}`
          : "Daily Papers";
  const nav =
    o.kind === "search"
      ? html`<nav class="days" aria-label="Days"><a href="/">Latest day</a></nav>`
      : o.kind === "week"
        ? html`<nav class="days" aria-label="Weeks">${o.prev ? html`<a rel="prev" href="/papers/week/${o.prev}">← Earlier</a>` : html``}${o.from ? html`<a href="/papers/${o.to ?? o.from}">Days of this week</a>` : html``}${o.next ? html`<a rel="next" href="/papers/week/${o.next}">Later →</a>` : html``}</nav>`
        : html`<nav class="days" aria-label="Days">${o.prev ? html`<a rel="prev" href="/papers/${o.prev}">← ${dayLabel(o.prev)}</a>` : html``}${o.from ? html`<a href="/papers/week/${o.from}">This week</a>` : html``}${o.next ? html`<a rel="next" href="/papers/${o.next}">${dayLabel(o.next)} →</a>` : html``}</nav>`;
  const subscribeSearch =
    o.kind === "search"
      ? html`<form method="get" action="/subscribe"><input type="hidden" name="topics" value="${o.q}"><button type="submit" class="secondary">Subscribe to this search</button></form>`
      : html``;
  const empty =
    o.kind === "search" ? html`<p class="muted">No paper matches this search yet.</p>` : html`<p class="muted">No papers were listed on this day.</p>`;
  const lead =
    o.kind === "search"
      ? html`<p class="muted">${o.papers.length} ${o.papers.length === 1 ? "paper" : "papers"}, best match first.</p>`
      : html`<p class="muted">${o.papers.length} ${o.papers.length === 1 ? "paper" : "papers"}, most upvoted first. <a href="${o.feed}">Atom feed</a></p>`;
  const body = html`<div class="papers">
${subscribeBox()}
${searchBox(o.q)}
<h1>${title}</h1>
${nav}
${lead}
${subscribeSearch}
${o.papers.length > 0 ? html`<ol class="papers-list">${o.papers.map((p) => paperItem(p, o.words?.get(p.id)))}</ol>` : empty}
${o.papers.length > 5 ? nav : html``}
</div>`;
  return layout({
    title,
    body,
    styles: ["/assets/papers.css"],
    scripts: ["/assets/signup.js"],
    head: html`<link rel="alternate" type="application/atom+xml" title="${title}" href="${o.feed}">`,
  });
}

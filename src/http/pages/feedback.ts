import { webUrl } from "../../digests/text.js";
import type { Vote } from "../../subscribers/tokens.js";
import type { VotedPaper, VoteRecord } from "../../subscribers/votes.js";
import { html, type SafeHtml } from "../html.js";
import { layout } from "./layout.js";

const what = (vote: Vote) => (vote > 0 ? "More like this" : "Less like this");

/** What a feedback page is in: about to vote, voted, or vote removed. */
export type FeedbackState = "ask" | "recorded" | "undone";

/**
 * The page behind a "More/Less like this" link: the paper, one button that records the
 * vote (a GET changes nothing: link scanners open every link) and, when a vote stands,
 * an undo. After the POST it says what happened and keeps the undo at hand.
 */
export function feedbackPage(o: { token: string; paper: VotedPaper; vote: Vote; current: Vote | null; state: FeedbackState; manageUrl: string }): string {
  const title = o.state === "recorded" ? "Thanks, noted" : o.state === "undone" ? "Vote removed" : `${what(o.vote)}?`;
  const effect =
    o.vote > 0
      ? "Your next digests rank papers like this one higher among your topics' matches."
      : "Your next digests rank papers like this one lower among your topics' matches.";
  const status =
    o.state === "recorded"
      ? `You asked for ${o.vote > 0 ? "more" : "fewer"} papers like this one. ${effect}`
      : o.state === "undone"
        ? "Your vote on this paper is gone; your digests no longer take it into account."
        : o.current === o.vote
          ? `You already asked for ${o.vote > 0 ? "more" : "fewer"} papers like this one.`
          : o.current !== null
            ? `You asked for ${o.current > 0 ? "more" : "fewer"} papers like this one before; press the button to change that. ${effect}`
            : `Press the button and we take note. ${effect}`;
  const showVote = o.state !== "recorded" && !(o.state === "ask" && o.current === o.vote);
  const showUndo = o.state === "recorded" || (o.state === "ask" && o.current !== null);
  const body = html`<h1>${title}</h1>
<div class="card">
<p><a href="${webUrl(o.paper.url) ?? `https://arxiv.org/abs/${o.paper.arxivId}`}"><strong>${o.paper.title}</strong></a></p>
<p class="hint">arXiv ${o.paper.arxivId}</p>
<p role="status">${status}</p>
${showVote ? html`<form method="post" action="/feedback"><input type="hidden" name="token" value="${o.token}"><p><button type="submit">${what(o.vote)}</button></p></form>` : null}
${showUndo ? html`<form method="post" action="/feedback/undo"><input type="hidden" name="token" value="${o.token}"><p><button type="submit" class="secondary">Undo my vote</button></p></form>` : null}
<p class="hint"><a href="${o.manageUrl}#votes">Your recent votes and suggested topics</a></p>
</div>`;
  return layout({ title, body });
}

const day = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

/**
 * The manage page's "Your votes": topics suggested by what the subscriber keeps liking
 * (each a one-button form that follows it) and their recent votes, each with undo.
 */
export function votesSection(o: { token: string; suggestions: string[]; votes: VoteRecord[]; canAddTopic: boolean }): SafeHtml {
  return html`<section class="card" id="votes" aria-labelledby="votes-title">
<h2 id="votes-title">More like this, less like this</h2>
<p class="hint">Every paper in your digest has “More like this” and “Less like this” links. Your votes rank your next digests: papers like the ones you liked rise, papers like the ones you did not fall. Only you see them.</p>
${o.suggestions.length > 0 && o.canAddTopic
  ? html`<h3>Suggested topics</h3>
<p class="hint">Terms that keep coming up in papers you liked. Follow one with a click.</p>
<div class="row">${o.suggestions.map(
      (t) => html`<form method="post" action="/manage/topics/add"><input type="hidden" name="token" value="${o.token}"><input type="hidden" name="topic" value="${t}"><button type="submit" class="secondary">Follow “${t}”</button></form>`,
    )}</div>`
  : null}
<h3>Your recent votes</h3>
${o.votes.length > 0
  ? html`<ul class="votes">${o.votes.map(
      (v) => html`<li><strong>${v.vote > 0 ? "More like this" : "Less like this"}</strong>: <a href="${webUrl(v.paper.url) ?? `https://arxiv.org/abs/${v.paper.arxivId}`}">${v.paper.title}</a> <span class="muted">· ${day.format(v.votedAt)}</span>
<form method="post" action="/manage/votes/undo"><input type="hidden" name="token" value="${o.token}"><input type="hidden" name="paper" value="${v.paper.id}"><button type="submit" class="secondary">Undo</button></form></li>`,
    )}</ul>`
  : html`<p class="muted">No votes yet.</p>`}
</section>`;
}

import { webUrl } from "../../digests/render.js";
import type { Vote } from "../../subscribers/tokens.js";
import type { VotedPaper } from "../../subscribers/votes.js";
import { html } from "../html.js";
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

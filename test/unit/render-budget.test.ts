import { beforeAll, describe, expect, it } from "vitest";
import type { DigestInput, DigestPaper } from "../../src/digests/digest-input.js";
import { createDigestRenderer, HTML_BUDGET, type DigestRenderer } from "../../src/digests/render.js";
import { wrapText } from "../../src/digests/text.js";
import type { DigestView } from "../../src/digests/view-model.js";
import { createHandlebars, mjmlToHtml, readTemplate } from "../../src/mail/templates.js";
import { TOPIC_MAX, TOPICS_MAX } from "../../src/subscribers/topics.js";
import { ctx } from "./render-fixtures.js";

/**
 * Gmail clips an email at about 102 KB and hides what follows: the footer with
 * unsubscribe, manage and the postal address. The worst digest the settings allow
 * must stay under HTML_BUDGET with its footer; papers that do not fit move to the
 * view-in-browser page behind an "N more papers" link.
 */

const MAX_PAPERS = 50;
const WORDS = "diffusion language model reasoning agents transformer scaling learning vision benchmark retrieval policy".split(" ");
/** Twenty topics at the length limit, all made of the same recurring words. */
const TOPICS = Array.from({ length: TOPICS_MAX }, (_, t) => {
  let topic = `${WORDS[t % WORDS.length]!}`;
  for (let k = 1; topic.length < TOPIC_MAX - 12; k++) topic += ` ${WORDS[(t + k * 5) % WORDS.length]!}`;
  return topic.slice(0, TOPIC_MAX);
});
const recurring = (chars: number, seed: number) => {
  let s = "";
  for (let k = 0; s.length < chars; k++) s += `${WORDS[(seed + k * 7) % WORDS.length]!} `;
  return s.trim();
};

function worstPaper(i: number): DigestPaper {
  return {
    id: i,
    rank: i,
    // Far past any real paper: a title of 2,000 characters, 10,000 of abstract, 400 authors with long names.
    title: `${recurring(2000, i)} ${i}`,
    abstract: recurring(10_000, i + 1),
    authors: Array.from({ length: 400 }, (_, a) => `Author ${a} ${"Longname-".repeat(10)}${i}`),
    upvotes: 99_999,
    arxivUrl: `https://arxiv.org/abs/2511.${10000 + i}`,
    pdfUrl: `https://arxiv.org/pdf/2511.${10000 + i}`,
    hfUrl: `https://huggingface.co/papers/2511.${10000 + i}`,
    githubRepo: `example/${"repo-".repeat(20)}${i}`,
    projectPage: `https://example.org/${"project/".repeat(100)}${i}`,
    aiSummary: null,
    matchedTopics: TOPICS,
    matchedWords: WORDS,
  };
}

const worst = (id: number, n = MAX_PAPERS): DigestInput => ({
  digestId: id,
  period: "2026-11-28",
  recipient: { subscriberId: 9000 + id, tokenVersion: 1, email: `${"a".repeat(64)}@${"sub.".repeat(45)}example.org`, frequency: "weekly", timezone: "UTC" },
  papers: Array.from({ length: n }, (_, k) => worstPaper(k + 1)),
});

describe("Gmail's clip never hides the footer", () => {
  let renderer: DigestRenderer;
  let fillSource: (v: DigestView) => string;
  let fillText: (v: DigestView) => string;
  beforeAll(async () => {
    renderer = await createDigestRenderer(ctx);
    fillSource = createHandlebars().compile<DigestView>(await readTemplate("digest.mjml"));
    fillText = createHandlebars().compile<DigestView>(await readTemplate("digest.txt.hbs"), { noEscape: true });
  });

  it("the worst digest the settings allow is at most 100 KB of HTML, footer included, the rest one link away", () => {
    const d = worst(1);
    const { html, text } = renderer.render(d);
    expect(Buffer.byteLength(html)).toBeLessThanOrEqual(HTML_BUDGET);
    expect(HTML_BUDGET).toBeLessThanOrEqual(100_000);

    const shown = (html.match(/font-size:17px;font-weight:700/g) ?? []).length;
    // Long titles, authors and topic lists are cut, so a good part of the digest still fits.
    expect(shown).toBeGreaterThanOrEqual(15);
    expect(shown).toBeLessThan(MAX_PAPERS);
    // Handlebars writes the token's "=" as &#x3D;, which a mail client reads as "=".
    const view = /href="https:\/\/paperboy\.example\.org\/digests\/1\?token&#x3D;[^"]+"[^>]*>(\d+) more papers in your browser</.exec(html);
    expect(view?.[1]).toBe(String(MAX_PAPERS - shown));
    // The link is too long for a 78-character text line: it stands on the next one.
    expect(text).toContain(`${MAX_PAPERS - shown} more papers in your browser:\nhttps://paperboy.example.org/digests/1?token=`);

    // The footer comes after the papers and the link, and all of it is inside the budget.
    const footer = html.lastIndexOf("Unsubscribe");
    expect(footer).toBeGreaterThan(html.indexOf("more papers in your browser"));
    expect(html.slice(footer - 300)).toMatch(/href="https:\/\/paperboy\.example\.org\/unsubscribe\?token&#x3D;/);
    expect(html).toMatch(/href="https:\/\/paperboy\.example\.org\/manage\?token&#x3D;[^"]+"[^>]*>Manage topics</);
    expect(html.indexOf(ctx.postalAddress)).toBeGreaterThan(footer);
    // The subject still counts every paper of the digest.
    expect(renderer.render(d).subject).toMatch(/, and 49 more on /);
  });

  it("the cut email is byte for byte what the plain path gives for its view; a batch render gives the same", async () => {
    const d = worst(2);
    const fast = renderer.render(d);
    const v = renderer.view(d);
    expect(v.papers.length).toBeLessThan(MAX_PAPERS);
    expect(v.morePapers).toBe(`${MAX_PAPERS - v.papers.length} more papers in your browser`);
    expect(fast.html).toBe(await mjmlToHtml(fillSource(v)));
    expect(fast.text).toBe(wrapText(fillText(v)));
    const batch = renderer.batch();
    expect(batch(d)).toEqual(fast);
    expect(batch(worst(3))).toEqual(renderer.render(worst(3)));
  });

  it("the view-in-browser page shows every paper, and a digest that fits is never cut", () => {
    const page = renderer.page(worst(4)).html;
    expect((page.match(/font-size:17px;font-weight:700/g) ?? []).length).toBe(MAX_PAPERS);
    expect(page).not.toContain("more papers in your browser");

    const small = worst(5, 5);
    expect(renderer.render(small).html).toBe(renderer.page(small).html);
    expect(renderer.render(small).html).not.toContain("in your browser</a>");
    expect(renderer.view(small).morePapers).toBe("");
  });

  it("cuts long titles, author lines and topic lists in the email", () => {
    const [p] = renderer.view(worst(6, 1)).papers;
    expect(p?.titleText.length).toBeLessThanOrEqual(303);
    expect(p?.titleText.endsWith("...")).toBe(true);
    expect(p?.authors.length).toBeLessThanOrEqual(203);
    expect(p?.topics).toMatch(/ and 15 more$/);
  });
});

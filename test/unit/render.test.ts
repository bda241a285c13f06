import { beforeAll, describe, expect, it } from "vitest";
import type { DigestPaper } from "../../src/digests/digest-input.js";
import { createDigestRenderer, type DigestRenderer } from "../../src/digests/render.js";
import { excerpt, highlight, squeeze, wrapText } from "../../src/digests/text.js";
import type { DigestView } from "../../src/digests/view-model.js";
import { authorLine, subjectLine, summaryLine } from "../../src/digests/wording.js";
import { createHandlebars, mjmlToHtml, readTemplate } from "../../src/mail/templates.js";
import { verifyFeedbackToken, verifyToken } from "../../src/subscribers/tokens.js";
import { ctx, digest, paper } from "./render-fixtures.js";

/** What a mail client does to an attribute value before following the link. */
function decodeEntities(s: string): string {
  return s.replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16))).replace(/&quot;/g, '"').replace(/&amp;/g, "&");
}

describe("digest render", () => {
  let renderer: DigestRenderer;
  let source: string;
  beforeAll(async () => {
    renderer = await createDigestRenderer(ctx);
    source = await readTemplate("digest.mjml");
  });

  it("fills the compiled template exactly as mjml2html renders the filled MJML source", async () => {
    const hostile = paper(3, {
      title: `<script>alert("x")</script> & 'quotes' {{subject}} </mj-text> diffusion`,
      abstract: "Ünïcode — “quotes” & <b>tags</b> = `ticks` diffusion",
      authors: ["A & B <c@d>"],
      matchedTopics: ["<topic>"],
    });
    const cases = [digest(1, 1), digest(2, 7), digest(3, 20), digest(4, 2, { papers: [hostile, paper(1)] })];
    const hb = createHandlebars();
    const fillSource = hb.compile<DigestView>(source);
    for (const d of cases) {
      const slow = await mjmlToHtml(fillSource(renderer.view(d)));
      expect(renderer.render(d).html).toBe(slow);
    }
  });

  it("a batch render reuses each paper's fill and still equals the whole template, HTML and text", async () => {
    const hb = createHandlebars();
    const fillSource = hb.compile<DigestView>(source);
    const fillText = hb.compile<DigestView>(await readTemplate("digest.txt.hbs"), { noEscape: true });
    const shared = (i: number, over: Partial<DigestPaper> = {}) => paper(i, { id: i, ...over });
    // The same papers across digests: other ranks, other matched words and topics, a hostile title.
    const cases = [
      digest(11, 0, { papers: [shared(1), shared(2), shared(3, { title: "<b>diffusion</b> & {{x}}" })] }),
      digest(12, 0, { papers: [shared(3, { rank: 1, title: "<b>diffusion</b> & {{x}}" }), shared(1, { rank: 2 }), shared(2, { rank: 3, matchedWords: ["models"] })] }),
      digest(13, 0, { papers: [shared(2, { rank: 1, matchedWords: ["models"], matchedTopics: ["models"] }), shared(1, { rank: 2 })] }),
      digest(14, 0, { papers: [shared(1), shared(2)], recipient: { ...digest(14, 0).recipient, frequency: "weekly" } }),
    ];
    const render = renderer.batch();
    for (const d of cases) {
      const fast = render(d);
      const alone = renderer.render(d);
      expect(fast).toEqual(alone);
      const v = renderer.view(d);
      expect(fast.html).toBe(await mjmlToHtml(fillSource(v)));
      // The text part is the template's fill wrapped at 78 characters.
      expect(fast.text).toBe(wrapText(fillText(v)));
      expect(fast.html).not.toContain("<b>diffusion");
    }
    expect(render(cases[1]!).html).toContain('<b class="hl">models</b>');
  });

  it("every paper carries its own signed More/Less like this links in HTML and text, per reader, also from a batch", () => {
    const withIds = (id: number) => digest(id, 0, { papers: [1, 2, 3].map((i) => paper(i, { id: 100 + i })) });
    const render = renderer.batch();
    for (const d of [withIds(21), withIds(22)]) {
      const { html, text } = render(d);
      const hrefs = [...html.matchAll(/href="([^"]*\/feedback\?token[^"]*)"[^>]*>(More|Less) like this</g)].map((m) => ({ url: decodeEntities(m[1]!), kind: m[2] }));
      const lines = [...text.matchAll(/(More|Less) like this:\s+(\S+)/g)].map((m) => ({ url: m[2]!, kind: m[1] }));
      for (const found of [hrefs, lines]) {
        expect(found).toHaveLength(6);
        const claims = found.map((f) => ({ kind: f.kind, ...verifyFeedbackToken(ctx.secret, new URL(f.url).searchParams.get("token")!) }));
        expect(claims).toEqual(
          [101, 102, 103].flatMap((paperId) => [
            { kind: "More", subscriberId: d.recipient.subscriberId, version: 1, paperId, vote: 1 },
            { kind: "Less", subscriberId: d.recipient.subscriberId, version: 1, paperId, vote: -1 },
          ]),
        );
      }
    }
    // A paper without an id (a preview of made-up papers) has nothing to vote on.
    expect(renderer.render(digest(23, 2)).text).not.toContain("like this");
  });

  it("escapes a title holding markup and still highlights inside it", () => {
    const d = digest(5, 1, { papers: [paper(1, { title: "<script>alert(1)</script> diffusion" })] });
    const { html, text } = renderer.render(d);
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain('<b class="hl">diffusion</b>');
    // The text part is not HTML: it reads as typed.
    expect(text).toContain("<script>alert(1)</script> diffusion");
  });

  it("links titles to Hugging Face when known, else arXiv; drops non-web links", () => {
    const hf = renderer.view(digest(6, 1, { papers: [paper(2)] })).papers[0];
    expect(hf?.url).toBe("https://huggingface.co/papers/2511.10002");
    const ax = renderer.view(digest(6, 1, { papers: [paper(1, { githubRepo: "javascript:alert(1)", projectPage: "data:text/html,x" })] })).papers[0];
    expect(ax?.url).toBe("https://arxiv.org/abs/2511.10001");
    expect(ax?.codeUrl).toBeNull();
    expect(ax?.projectUrl).toBeNull();
    expect(renderer.view(digest(6, 1, { papers: [paper(3)] })).papers[0]?.codeUrl).toBe("https://github.com/example/diffusion-reasoning");
  });

  it("every link is absolute and our own links carry valid tokens for their purpose", () => {
    const { html, text } = renderer.render(digest(7, 3));
    const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => decodeEntities(m[1] ?? ""));
    expect(hrefs.length).toBeGreaterThan(8);
    const purposes = { manage: "manage", unsubscribe: "unsubscribe", [`digests/7`]: "view" } as const;
    let own = 0;
    for (const href of hrefs) {
      const u = new URL(href);
      expect(["https:", "http:"]).toContain(u.protocol);
      if (u.origin !== ctx.publicUrl) continue;
      own++;
      const purpose = purposes[u.pathname.slice(1) as keyof typeof purposes];
      expect(purpose, href).toBeDefined();
      const claims = verifyToken(ctx.secret, u.searchParams.get("token") ?? "", purpose);
      expect(claims.subscriberId).toBe(47);
    }
    // View (top and footer), manage, past digests (the manage page), unsubscribe.
    expect(own).toBe(5);
    expect(text).toContain("https://paperboy.example.org/unsubscribe?token=");
  });

  it("shows the summary line, authors, upvotes, matched topics and footer", () => {
    const { html, text, subject } = renderer.render(digest(8, 12));
    expect(subject).toBe("Scaling Diffusion Models for Reasoning, part 1, and 11 more on diffusion, test-time compute");
    expect(html).toContain("Saturday, 28 November 2026");
    expect(html).toContain("12 new papers on diffusion, test-time compute");
    expect(html).toContain('<strong style="color:#3a3a40;">because you follow: diffusion');
    expect(html).toContain(ctx.postalAddress);
    expect(text).toContain("because you follow: diffusion, test-time compute");
    expect(text.replace(/\n +/g, " ")).toContain("Ada Lovelace, Alan Turing, Grace Hopper, Edsger Dijkstra, Barbara Liskov et al.");
    expect(text).toContain("35 upvotes");
    expect(text).toContain("Code: https://github.com/example/diffusion-reasoning");
  });

  it("wraps the text part at 78 characters, URLs on lines of their own", () => {
    const { text } = renderer.render(digest(10, 5, { papers: [paper(1, { title: `A ${"very ".repeat(30)}long title about diffusion` })] }));
    for (const line of text.split("\n")) {
      if (line.length > 78) expect(line.trim()).toMatch(/^https?:\/\/\S+$/);
    }
    expect(text).toMatch(/^ {3}https?:\/\/\S+$/m);
    expect(text).toMatch(/^1\. A very very/m);
  });

  it("wraps every line as breaking it word by word would: greedy, indent kept, a long word alone", () => {
    // The definition: words (runs of spaces squeezed) added to a line while it stays within the width.
    const byWords = (line: string, width: number) => {
      const indent = /^ */.exec(line)?.[0] ?? "";
      const out: string[] = [];
      let cur = "";
      for (const w of line.slice(indent.length).split(" ").filter(Boolean)) {
        if (cur && indent.length + cur.length + 1 + w.length > width) {
          out.push(indent + cur);
          cur = w;
        } else cur = cur ? `${cur} ${w}` : w;
      }
      if (cur) out.push(indent + cur);
      return line.length <= width ? line : out.join("\n");
    };
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    const words = ["a", "word", "paper", "diffusion", "x".repeat(19), `https://example.org/${"x".repeat(90)}`, "-", "é"];
    for (let i = 0; i < 3000; i++) {
      const width = [78, 78, 20, 5, 3][rnd(5)]!;
      // Mostly one space between words, as the templates make; now and then two, or one at the end.
      const sep = () => (rnd(30) === 0 ? "  " : " ");
      const line = " ".repeat(rnd(6)) + Array.from({ length: rnd(40) }, () => words[rnd(words.length)]!).join(sep()) + (rnd(20) === 0 ? " " : "");
      expect(wrapText(line, width), JSON.stringify([line, width])).toBe(byWords(line, width));
    }
    expect(wrapText(`   ${"word ".repeat(20).trim()}\nshort\n${"x ".repeat(50).trim()}`)).toBe(
      `${byWords(`   ${"word ".repeat(20).trim()}`, 78)}\nshort\n${byWords("x ".repeat(50).trim(), 78)}`,
    );
  });

  it("reads cleanly for a paper without authors: no stray separator", () => {
    const { html, text } = renderer.render(digest(11, 1, { papers: [paper(1, { authors: [], upvotes: 7 }), paper(2, { rank: 2, authors: [" "], upvotes: 0 })] }));
    expect(text).toMatch(/^ {3}7 upvotes$/m);
    expect(text).not.toMatch(/^ {3}- /m);
    expect(html).not.toMatch(/>\s*&middot;\s*&#9650;/);
    expect(html).toContain(">&#9650; 7</div>");
  });

  it("says which listing day(s) the papers are from in the header", () => {
    const one = renderer.render(digest(12, 1, { papers: [paper(1, { listingDay: "2026-11-27" })] }));
    expect(one.text).toContain("Papers listed on Fri 27 Nov");
    const many = renderer.render(digest(13, 1, { papers: [paper(1, { listingDay: "2026-11-27" }), paper(2, { rank: 2, listingDay: "2026-11-25" })] }));
    expect(many.html).toContain("Papers listed Wed 25 Nov to Fri 27 Nov");
  });

  it("says why each paper is there: a followed topic, or trending with its upvotes when planned", () => {
    const papers = [
      paper(1, { matchedTopics: ["diffusion"] }),
      paper(2, { matchedTopics: [], matchedWords: [], trending: 212, upvotes: 230 }),
      paper(3, { matchedTopics: [], matchedWords: [], trending: 1 }),
    ];
    const mixed = renderer.render(digest(11, 3, { papers }));
    expect(mixed.subject).toBe("Scaling Diffusion Models for Reasoning, part 1, and 2 more on diffusion");
    expect(mixed.html).toContain("1 new paper on diffusion + 2 trending");
    for (const part of [mixed.html, mixed.text]) {
      expect(part).toContain("because you follow: diffusion");
      expect(part).toContain("trending: 212 upvotes");
      expect(part).toContain("trending: 1 upvote");
    }
    const batch = renderer.batch();
    const onlyTrending = batch(digest(12, 2, { papers: papers.slice(1) }));
    expect(onlyTrending.subject).toBe("Scaling Diffusion Models for Reasoning, part 2, and 1 more trending paper");
    expect(onlyTrending.text).toContain("2 trending papers");
    expect(onlyTrending.text).not.toContain("because you follow");
    // A batch shares a paper's fill only between digests that have it for the same reason.
    const asTopic = batch(digest(13, 1, { papers: [paper(2, { matchedTopics: ["diffusion"] })] }));
    expect(asTopic.text).toContain("because you follow: diffusion");
    expect(asTopic.text).not.toContain("trending: 212");
  });

  it("links the past digests (manage page) and, knowing the feed version, the subscriber's own Atom feed", () => {
    const withFeed = digest(14, 2);
    withFeed.recipient.feedVersion = 3;
    for (const r of [renderer.render(withFeed), renderer.batch()(withFeed)]) {
      expect(r.text).toMatch(/Past digests:\s+https:\/\/paperboy\.example\.org\/manage\?token=\S+#archive/);
      const feed = /Atom feed:\s+(\S+)/.exec(r.text)?.[1] ?? "";
      expect(feed).toMatch(/^https:\/\/paperboy\.example\.org\/feed\/54\.f\.3\.0\.[\w-]+\.atom$/);
      expect(r.html).toContain(`href="${feed}"`);
    }
    expect(renderer.render(digest(15, 1)).text).not.toContain("Atom feed");
  });

  it("stays under Gmail's 102 KB clipping limit at 20 papers", () => {
    const { html } = renderer.render(digest(9, 20));
    expect(Buffer.byteLength(html)).toBeLessThan(102 * 1024);
    // Nothing is fetched from elsewhere when the email is opened (no web-font import).
    expect(html).not.toMatch(/fonts\.googleapis|@import/);
  });
});

describe("the subject line", () => {
  const p = (rank: number, title: string, matchedTopics: string[]) => ({ rank, title, matchedTopics });
  it("leads with the top paper's title, then the count and the topics as a person reads them", () => {
    expect(
      subjectLine([p(2, "Other", ["Diffusion"]), p(1, "Sleep-time Compute:  Beyond Inference Scaling", ["reasoning", "Diffusion"]), ...[3, 4, 5, 6].map((r) => p(r, "x", ["reasoning"]))]),
    ).toBe("Sleep-time Compute: Beyond Inference Scaling, and 5 more on reasoning, Diffusion");
  });
  it("writes topics without search syntax: no `or`, quotes or -exclusions", () => {
    const s = subjectLine([p(1, "Mamba-3", ["mamba or ssm", '"test-time compute"', "reasoning -survey"])]);
    expect(s).toBe("Mamba-3, new on test-time compute, mamba/ssm, reasoning");
    expect(s).not.toMatch(/ or |"| -\w/);
  });
  it("names the best paper of a trending digest and cuts a long title at a word", () => {
    expect(subjectLine([p(1, "Trending one", []), p(2, "Two", [])])).toBe("Trending one, and 1 more trending paper");
    const long = subjectLine([p(1, `${"Scaling ".repeat(12)}laws`, ["scaling"])]);
    expect(long).toMatch(/^(Scaling ){7,8}?Scaling\.\.\., new on scaling$/);
  });
});

describe("digest view helpers", () => {
  it("cuts abstracts at a word near 300 characters", () => {
    const long = "word ".repeat(100);
    const cut = excerpt(long);
    expect(cut.length).toBeLessThanOrEqual(303);
    expect(cut.endsWith("word...")).toBe(true);
    expect(excerpt("short text")).toBe("short text");
  });

  it("turns every whitespace run into one space, line breaks and Unicode spaces included", () => {
    const samples = [
      "plain words with single spaces",
      "  leading and trailing  ",
      "line\nbreaks\r\nand\ttabs",
      "no\u00a0break\u2003em\u3000ideographic \u2028 separators",
      "mixed \n \t runs",
      "",
    ];
    for (const s of samples) expect(squeeze(s)).toBe(s.replace(/\s+/g, " "));
    expect(excerpt("A  paper\n\nabout\ttabs")).toBe("A paper about tabs");
  });

  it("highlights whole words case-insensitively, with stem run-on, and nothing inside words", () => {
    expect(highlight("Diffusion models beat transdiffusion", ["diffusion", "model"])).toEqual([
      { text: "Diffusion", hit: true },
      { text: " ", hit: false },
      { text: "models", hit: true },
      { text: " beat transdiffusion", hit: false },
    ]);
    // Regex metacharacters in matched words are literal text, not patterns.
    expect(highlight("a.b (c) axb", ["a.b", "(c"]).filter((s) => s.hit).map((s) => s.text)).toEqual(["a.b", "(c"]);
    expect(highlight("no match", [])).toEqual([{ text: "no match", hit: false }]);
  });

  it("names the most matched topics in the summary line", () => {
    expect(summaryLine([{ matchedTopics: ["b"] }, { matchedTopics: ["a", "b"] }])).toBe("2 new papers on b, a");
    expect(summaryLine([{ matchedTopics: ["x", "y", "z", "w"] }])).toBe("1 new paper on w, x, y and 1 more topic");
    expect(authorLine(["A", "B"])).toBe("A, B");
  });
});

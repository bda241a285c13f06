import Handlebars from "handlebars";
import { describe, expect, it } from "vitest";
import { createDigestRenderer } from "../../src/digests/render.js";
import { compileFill } from "../../src/mail/fill.js";
import { ctx, digest, paper } from "./render-fixtures.js";

const source = `<p title="{{title}}">{{{raw}}}</p>
{{#each items}}
<li>{{#if hit}}<b>{{text}}</b>{{else}}{{text}}{{/if}} {{n}}</li>
{{/each}}
{{#if count}}count {{count}}{{else}}none{{/if}} {{#if list}}list{{/if}} {{#each empty}}x{{else}}empty{{/each}} {{missing.deep}} {{flag}}
{{! a comment }}{{links.view}}
`;

describe("direct template fill", () => {
  it("gives what Handlebars gives: escaping, if truthiness (0, false, empty arrays), each, nested paths", () => {
    const cases = [
      { title: `"<x>" & 'y' \`=`, raw: "<i>ok</i>", items: [{ text: "<a>", hit: true, n: 0 }, { text: "b&c", hit: false, n: 2 }], count: 0, list: [], empty: [], flag: false, links: { view: "https://x/?a=1&b=2" } },
      { title: null, raw: undefined, items: null, count: 3, list: [1], empty: null, flag: true, links: {} },
    ];
    for (const noEscape of [false, true]) {
      const ast = Handlebars.parse(source);
      const fill = compileFill(ast, { noEscape });
      expect(fill).not.toBeNull();
      const hb = Handlebars.create().compile(source, { noEscape });
      for (const data of cases) expect(fill?.(data)).toBe(hb(data));
    }
  });

  it("declines what it does not implement, so the caller uses Handlebars", () => {
    expect(compileFill(Handlebars.parse("{{#each a}}{{@index}}{{/each}}"))).toBeNull();
    expect(compileFill(Handlebars.parse("{{#each a}}{{../b}}{{/each}}"))).toBeNull();
    expect(compileFill(Handlebars.parse("{{plural n 'a' 'b'}}"))).toBeNull();
    expect(compileFill(Handlebars.parse("{{#unless a}}x{{/unless}}"))).toBeNull();
  });
});

describe("MAIL_FAST_PATHS: the digest renderer on the direct fill vs on Handlebars", () => {
  it("fills with the direct fill by default and with Handlebars only when fast paths are off", async () => {
    const fast = await createDigestRenderer(ctx);
    const plain = await createDigestRenderer(ctx, { fastPaths: false });
    expect(fast.engine).toBe("fill");
    expect(plain.engine).toBe("handlebars");
  });

  it("gives the same bytes on both paths, one by one and in a batch, hostile text included", async () => {
    const fast = await createDigestRenderer(ctx);
    const plain = await createDigestRenderer(ctx, { fastPaths: false });
    const hostile = paper(4, { id: 4, title: `<script>"x"</script> & {{subject}} diffusion\u0000`, abstract: "Ünïcode — “q” & <b>t</b> `tick` diffusion", authors: ["A & B <c@d>"], matchedTopics: ["<t>"] });
    const cases = [
      digest(21, 1),
      digest(22, 12),
      digest(23, 0, { papers: [hostile, paper(1, { id: 1 })] }),
      digest(24, 3, { recipient: { ...digest(24, 0).recipient, frequency: "weekly", email: "ünï@example.org" } }),
    ];
    const fastBatch = fast.batch();
    const plainBatch = plain.batch();
    for (const d of cases) {
      const a = fast.render(d);
      expect(plain.render(d)).toEqual(a);
      expect(plainBatch(d)).toEqual(a);
      expect(fastBatch(d)).toEqual(a);
      expect(plain.page(d)).toEqual(fast.page(d));
    }

    // Over the HTML budget: both paths cut at the same paper.
    const fastCut = await createDigestRenderer(ctx, { htmlBudget: 20_000 });
    const plainCut = await createDigestRenderer(ctx, { htmlBudget: 20_000, fastPaths: false });
    const big = digest(25, 30);
    const cut = fastCut.render(big);
    expect(cut.html.length).toBeLessThan(fastCut.page(big).html.length);
    expect(plainCut.render(big)).toEqual(cut);
    expect(plainCut.batch()(big)).toEqual(cut);
  });
});

import Handlebars from "handlebars";
import { describe, expect, it } from "vitest";
import { compileFill } from "../../src/mail/fill.js";

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

import { describe, expect, it } from "vitest";
import { isCalendarDay, queryComplexity, queryProblem, stripControls, textProblem } from "../../src/input.js";
import { mailboxKey } from "../../src/subscribers/address.js";

describe("the rule for text from people", () => {
  it("refuses NUL, C0, DEL and C1 controls anywhere, and line breaks outside a textarea", () => {
    for (const bad of ["a\u0000b", "a\u0001", "\u001bx", "x\u007f", "x\u0085y", "a\u000bb"]) expect(textProblem(bad), JSON.stringify(bad)).toMatch(/control character/);
    expect(textProblem("a\nb")).toMatch(/one line/);
    expect(textProblem("a\tb")).toMatch(/one line/);
    expect(textProblem("a\tb", { tab: true })).toBeUndefined();
    expect(textProblem("a\r\nb\tc", { multiline: true })).toBeUndefined();
    expect(textProblem("naïve Ψ-codecs 🚀 日本語")).toBeUndefined();
  });

  it("refuses lone surrogates, and bidi controls where asked", () => {
    expect(textProblem("a\uD800b")).toMatch(/broken Unicode/);
    expect(textProblem("a\uDFFF")).toMatch(/broken Unicode/);
    expect(textProblem("x \u202Eevil", { noBidi: true })).toMatch(/text-direction control \(U\+202E\)/);
    expect(textProblem("x \u2067y", { noBidi: true })).toMatch(/U\+2067/);
    expect(textProblem("x \u202Eevil")).toBeUndefined();
    // The marks are text-direction controls too; zero-width space, word joiner and BOM hide inside a word.
    for (const mark of ["\u200E", "\u200F", "\u061C"]) expect(textProblem(`ab${mark}cd`, { noBidi: true })).toMatch(/text-direction control/);
    for (const hidden of ["\u200B", "\u2060", "\uFEFF"]) expect(textProblem(`ab${hidden}cd`, { noBidi: true })).toMatch(/invisible character/);
    // Scripts that need joiners keep them.
    expect(textProblem("می\u200Cخواهم", { noBidi: true })).toBeUndefined();
    expect(textProblem("👩\u200D🔬", { noBidi: true })).toBeUndefined();
  });

  it("refuses text that was not UTF-8 (a decoder's U+FFFD)", () => {
    expect(textProblem("\uFFFDab")).toMatch(/not UTF-8/);
  });

  it("counts a query's operators and words the way websearch_to_tsquery reads them", () => {
    expect(queryComplexity("test-time compute")).toEqual({ words: 3, operators: 0 });
    expect(queryComplexity('reasoning -survey "chain of thought" or cot')).toEqual({ words: 6, operators: 3 });
    expect(queryComplexity("-".repeat(33))).toEqual({ words: 0, operators: 33 });
    expect(queryProblem("-".repeat(33))).toMatch(/too many operators/);
    expect(queryProblem("mamba or ssm -survey")).toBeUndefined();
    expect(queryProblem(Array.from({ length: 17 }, (_, i) => `w${i}`).join(" "))).toMatch(/too many words/);
  });

  it("accepts only real calendar days from 1991 to 2999", () => {
    expect(["2026-11-27", "1991-01-01", "2999-12-31", "2028-02-29"].every(isCalendarDay)).toBe(true);
    expect(["0000-01-01", "1990-12-31", "3000-01-01", "2026-02-30", "2026-1-1", "99999-01-01"].some(isCalendarDay)).toBe(false);
  });

  it("cleans upstream text instead of refusing it", () => {
    expect(stripControls("Rain\u0000Net\u0007 for\tweather\r\nmaps \uD800")).toBe("RainNet for weather  maps \uFFFD");
  });

  it("keys one inbox however its address is written", () => {
    expect(mailboxKey(" Ines+News@Example.ORG ")).toBe("ines@example.org");
    expect(mailboxKey("ines@example.org")).toBe("ines@example.org");
    expect(mailboxKey("+tag@example.org")).toBe("+tag@example.org");
  });
});

import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import mjml2html from "mjml";
import { compileFill } from "./fill.js";


export const templatesDir = fileURLToPath(new URL("../../templates", import.meta.url));

/**
 * An email template rendered once per process: `<name>.mjml` (with Handlebars
 * placeholders; block helpers wrapped in <mj-raw>) is compiled by MJML to HTML a
 * single time, then that HTML is compiled by Handlebars, which HTML-escapes every
 * `{{value}}`. Filling it per recipient costs microseconds, not MJML's milliseconds.
 * `<name>.txt.hbs` is the plain-text part.
 */
export interface CompiledEmail<T> {
  html(data: T): string;
  text(data: T): string;
}

/** Handlebars with the helpers our templates use; never the global instance. */
export function createHandlebars(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.registerHelper("eq", (a: unknown, b: unknown) => a === b);
  hb.registerHelper("plural", (n: number, one: string, many: string) => (n === 1 ? one : many));
  return hb;
}

export async function readTemplate(name: string): Promise<string> {
  return readFile(`${templatesDir}/${name}`, "utf8");
}

export async function mjmlToHtml(source: string): Promise<string> {
  // fonts: {} — MJML would otherwise import Roboto from Google Fonts because our font
  // stack names it: a request to Google each time an email is opened, for a font every
  // client already has a fallback for.
  const result = await mjml2html(source, { validationLevel: "strict", keepComments: false, fonts: {} });
  return result.html;
}

export async function compileEmail<T>(name: string, hb = createHandlebars()): Promise<CompiledEmail<T>> {
  const [mjml, text] = await Promise.all([readTemplate(`${name}.mjml`), readTemplate(`${name}.txt.hbs`)]);
  const html = hb.compile<T>(await mjmlToHtml(mjml), { strict: false });
  // The text part must not HTML-escape: a title with "&" reads "&" in a mail client.
  const plain = hb.compile<T>(text, { noEscape: true });
  return { html: (d) => html(d), text: (d) => plain(d) };
}

/**
 * A compiled email whose one repeated block (`{{#each <list>}}…{{/each}}`) is split
 * out, so a caller can fill each item once and reuse the filled fragment across
 * emails (the same paper appears in many digests of a batch). The split happens on
 * the parsed template, after Handlebars' standalone-line handling, so joining the
 * item fills and filling the rest gives byte for byte what the whole template
 * gives. `html`/`text` take the data with the list replaced by the joined fills.
 */
export interface CompiledListEmail<T, K extends keyof T> {
  html(data: ListFilled<T, K>): string;
  text(data: ListFilled<T, K>): string;
  itemHtml(item: ItemOf<T[K]>): string;
  itemText(item: ItemOf<T[K]>): string;
  /**
   * "fill" when every piece runs on the direct fill (fill.ts), "handlebars" when any
   * piece runs on Handlebars: asked for (fill: false), or a template outside the
   * fill's subset.
   */
  readonly engine: "fill" | "handlebars";
}

export interface ListEmailOptions {
  hb?: typeof Handlebars;
  /** Use the direct fill where the template allows (default); false = Handlebars only. */
  fill?: boolean;
}

export type ItemOf<L> = L extends readonly (infer I)[] ? I : never;
export type ListFilled<T, K extends keyof T> = Omit<T, K> & Record<K, string>;

type HbNode = { type: string; [k: string]: unknown };
type HbProgram = hbs.AST.Program;

/** Item templates must stand alone: no `../` or `@index`-style references into the loop. */
function assertSelfContained(node: unknown, where: string): void {
  if (!node || typeof node !== "object") return;
  const n = node as HbNode;
  if (n.type === "PathExpression" && ((n.depth as number) > 0 || n.data === true)) {
    throw new Error(`${where}: the list item uses "${String(n.original)}", which cannot be filled on its own`);
  }
  for (const v of Object.values(n)) {
    if (Array.isArray(v)) v.forEach((c) => assertSelfContained(c, where));
    else if (v && typeof v === "object" && "type" in v) assertSelfContained(v, where);
  }
}

function splitList(hb: typeof Handlebars, source: string, list: string, where: string): { outer: HbProgram; item: HbProgram } {
  const ast = hb.parse(source);
  const at = ast.body.findIndex((s) => {
    const b = s as hbs.AST.BlockStatement;
    return s.type === "BlockStatement" && (b.path).original === "each" && (b.params[0] as hbs.AST.PathExpression | undefined)?.original === list;
  });
  const block = ast.body[at] as hbs.AST.BlockStatement | undefined;
  if (!block || block.inverse) {
    throw new Error(`${where}: needs a top-level {{#each ${list}}} without {{else}}`);
  }
  assertSelfContained(block.program, where);
  // {{{list}}}: the joined item fills, already escaped by the item template.
  const slot = hb.parse(`{{{${list}}}}`).body[0] as hbs.AST.Statement;
  const outer: HbProgram = { ...ast, body: ast.body.map((s, i) => (i === at ? slot : s)) };
  return { outer, item: block.program };
}

export async function compileListEmail<T, K extends keyof T & string>(name: string, list: K, opts: ListEmailOptions = {}): Promise<CompiledListEmail<T, K>> {
  const hb = opts.hb ?? createHandlebars();
  const direct = opts.fill ?? true;
  const [mjml, text] = await Promise.all([readTemplate(`${name}.mjml`), readTemplate(`${name}.txt.hbs`)]);
  const html = splitList(hb, await mjmlToHtml(mjml), list, `${name}.mjml`);
  const plain = splitList(hb, text, list, `${name}.txt.hbs`);
  // Standalone lines were handled when the whole template was parsed; doing it
  // again on the pieces would strip differently.
  const hbOpts = { ignoreStandalone: true } as const;
  // The direct fill when allowed and the template stays in its subset, else Handlebars.
  let engine: "fill" | "handlebars" = "fill";
  const fill = <D>(ast: HbProgram, noEscape: boolean): ((d: D) => string) => {
    const f = direct ? compileFill(ast, { noEscape }) : null;
    if (f) return f;
    engine = "handlebars";
    return hb.compile<D>(ast, { ...hbOpts, noEscape });
  };
  const outerHtml = fill<ListFilled<T, K>>(html.outer, false);
  const itemHtml = fill<ItemOf<T[K]>>(html.item, false);
  const outerText = fill<ListFilled<T, K>>(plain.outer, true);
  const itemText = fill<ItemOf<T[K]>>(plain.item, true);
  return { html: (d) => outerHtml(d), text: (d) => outerText(d), itemHtml: (i) => itemHtml(i), itemText: (i) => itemText(i), engine };
}

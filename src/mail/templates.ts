import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import mjml2html from "mjml";

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
  const result = await mjml2html(source, { validationLevel: "strict", keepComments: false });
  return result.html;
}

export async function compileEmail<T>(name: string, hb = createHandlebars()): Promise<CompiledEmail<T>> {
  const [mjml, text] = await Promise.all([readTemplate(`${name}.mjml`), readTemplate(`${name}.txt.hbs`)]);
  const html = hb.compile<T>(await mjmlToHtml(mjml), { strict: false });
  // The text part must not HTML-escape: a title with "&" reads "&" in a mail client.
  const plain = hb.compile<T>(text, { noEscape: true });
  return { html: (d) => html(d), text: (d) => plain(d) };
}

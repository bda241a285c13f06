import Handlebars from "handlebars";

/**
 * A direct fill for the subset of Handlebars our email templates use: text,
 * `{{path}}`, `{{{path}}}`, `{{#if path}}…{{else}}…{{/if}}` and `{{#each path}}`
 * over arrays. The Handlebars runtime costs tens of microseconds per paper (helper
 * calls, frames, property guards); this walks closures. Escaping is Handlebars' own
 * escapeExpression and truthiness is its `if` helper's, so the output is the same
 * byte for byte. Anything outside the subset returns null: the caller compiles
 * with Handlebars instead.
 */
type Fill = (ctx: unknown) => string;

const { escapeExpression } = Handlebars.Utils;

function lookup(ctx: unknown, parts: string[]): unknown {
  let v = ctx;
  for (const p of parts) {
    if (v === null || v === undefined || !Object.prototype.hasOwnProperty.call(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** Handlebars' `if`: falsy, but 0 is falsy too (no includeZero), and so is an empty array. */
const truthy = (v: unknown) => !(!v || (Array.isArray(v) && v.length === 0));

function pathOf(node: hbs.AST.Expression | undefined): string[] | null {
  if (!node || node.type !== "PathExpression") return null;
  const p = node as hbs.AST.PathExpression;
  if (p.data || p.depth > 0) return null;
  return p.parts;
}

function value(parts: string[], escape: boolean): Fill {
  return (ctx) => {
    const v = lookup(ctx, parts);
    if (typeof v === "function") throw new Error(`template value ${parts.join(".")} is a function`);
    if (escape) return escapeExpression(v as string);
    return v === null || v === undefined ? "" : `${v as string}`;
  };
}

function program(node: hbs.AST.Program | undefined, noEscape: boolean): Fill | null {
  if (!node) return () => "";
  const fills: Fill[] = [];
  for (const s of node.body) {
    const f = statement(s, noEscape);
    if (!f) return null;
    fills.push(f);
  }
  if (fills.length === 1) return fills[0]!;
  return (ctx) => {
    let out = "";
    for (const f of fills) out += f(ctx);
    return out;
  };
}

function statement(s: hbs.AST.Statement, noEscape: boolean): Fill | null {
  switch (s.type) {
    case "ContentStatement": {
      const text = (s as hbs.AST.ContentStatement).value;
      return () => text;
    }
    case "CommentStatement":
      return () => "";
    case "MustacheStatement": {
      const m = s as hbs.AST.MustacheStatement;
      const parts = pathOf(m.path);
      if (!parts || m.params.length > 0 || m.hash) return null;
      return value(parts, m.escaped && !noEscape);
    }
    case "BlockStatement": {
      const b = s as hbs.AST.BlockStatement;
      const helper = pathOf(b.path);
      const arg = pathOf(b.params[0]);
      if (!helper || helper.length !== 1 || !arg || b.params.length !== 1 || b.hash || (b.program.blockParams?.length ?? 0) > 0) return null;
      const fn = program(b.program, noEscape);
      const inverse = program(b.inverse, noEscape);
      if (!fn || !inverse) return null;
      if (helper[0] === "if") return (ctx) => (truthy(lookup(ctx, arg)) ? fn(ctx) : inverse(ctx));
      if (helper[0] === "each") {
        return (ctx) => {
          const list = lookup(ctx, arg);
          if (list === null || list === undefined || list === false) return inverse(ctx);
          if (!Array.isArray(list)) throw new Error(`template list ${arg.join(".")} is not an array`);
          if (list.length === 0) return inverse(ctx);
          let out = "";
          for (const item of list) out += fn(item);
          return out;
        };
      }
      return null;
    }
    default:
      return null;
  }
}

/** The fill for a parsed template (whitespace already handled), or null when it needs Handlebars. */
export function compileFill(ast: hbs.AST.Program, opts: { noEscape?: boolean } = {}): Fill | null {
  return program(ast, opts.noEscape === true);
}

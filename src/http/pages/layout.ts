import { html, type SafeHtml } from "../html.js";

const STYLE = `
:root{color-scheme:light dark;--fg:#1d1d1f;--bg:#fbfbfd;--muted:#6e6e73;--accent:#3b5bdb;--err:#c92a2a;--card:#fff;--line:#d2d2d7}
@media (prefers-color-scheme:dark){:root{--fg:#f5f5f7;--bg:#111114;--muted:#a1a1a6;--accent:#748ffc;--err:#ff8787;--card:#1c1c20;--line:#3a3a40}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:44rem;margin:0 auto;padding:1.5rem 1rem 4rem}header.site{display:flex;align-items:center;gap:.5rem;padding:1rem;max-width:44rem;margin:0 auto}
header.site a{color:inherit;text-decoration:none;font-weight:700}h1{font-size:1.6rem;line-height:1.25}a{color:var(--accent)}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.25rem;margin:1rem 0}
label{display:block;font-weight:600;margin:.9rem 0 .25rem}input,select,textarea{font:inherit;width:100%;padding:.55rem .7rem;border:1px solid var(--line);border-radius:8px;background:var(--bg);color:var(--fg)}
textarea{min-height:7rem}button,.button{font:inherit;font-weight:600;padding:.6rem 1.1rem;border-radius:8px;border:0;background:var(--accent);color:#fff;cursor:pointer;display:inline-block;text-decoration:none}
button.secondary{background:transparent;color:var(--accent);border:1px solid var(--accent)}button:focus-visible,a:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.hint{color:var(--muted);font-size:.9rem;margin:.2rem 0}.error{color:var(--err);font-size:.9rem;margin:.25rem 0}.row{display:flex;gap:1rem;flex-wrap:wrap}.row>*{flex:1 1 10rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
pre{white-space:pre-wrap;word-break:break-word;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.75rem;font-size:.85rem}
.muted{color:var(--muted)}ul.topics{padding-left:1.2rem}ul.votes{padding-left:1.2rem}ul.votes li{margin:.5rem 0}ul.votes form{display:inline;margin-left:.4rem}ul.votes button{padding:.2rem .6rem;font-size:.85rem}
dl.status{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem}dl.status dt{font-weight:600}dl.status dd{margin:0}
table.wrap th,table.wrap td{overflow-wrap:anywhere}iframe{max-width:100%}
form:has(#frequency option[value="daily"]:checked) [data-weekday]{display:none}
label.check{display:flex;gap:.6rem;align-items:center;font-weight:400}label.check input{width:auto;margin:0}
form .row form,.card .row>form{flex:0 1 auto}[hidden]{display:none!important}code{font-size:.9em}
main:has(>.admin){max-width:72rem}.admin table.numbers td,.admin table.numbers th{text-align:right}.admin table.numbers th:first-child,.admin table.numbers td:first-child{text-align:left}
.admin .scroll{overflow-x:auto;max-width:100%}.admin .scroll.chart>svg{min-width:40rem}.admin .card{min-width:0}
.admin .err{color:var(--err);font-size:.85rem;word-break:break-word}.admin .notice{padding:.6rem .9rem;border-radius:8px;border:1px solid var(--line)}.admin .notice.error{color:var(--err)}
.admin .actions{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1.5rem}.admin figure.chart{margin:0}.admin .digest-chart text{font-size:11px;fill:var(--muted)}
.admin .digest-chart g.day:hover rect[fill="transparent"]{fill:var(--line)}.admin .legend{display:flex;gap:1rem;flex-wrap:wrap;font-size:.9rem}.admin .legend i{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.35rem;vertical-align:-1px}
`;

/** The page shell shared by every server-rendered page. Scripts are same-origin files only (CSP). */
export function layout(opts: { title: string; body: SafeHtml; scripts?: string[]; styles?: string[]; head?: SafeHtml }): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · paperboy</title>
<link rel="stylesheet" href="/assets/site.css">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
${(opts.styles ?? []).map((s) => html`<link rel="stylesheet" href="${s}">`)}
${opts.head}
</head>
<body>
<header class="site"><a href="/">paperboy</a></header>
<main>
${opts.body}
</main>
${(opts.scripts ?? []).map((s) => html`<script src="${s}" defer></script>`)}
</body>
</html>`.value;
}

export const siteCss = STYLE;

export function messagePage(title: string, message: string, extra?: SafeHtml): string {
  return layout({ title, body: html`<h1>${title}</h1><div class="card"><p>${message}</p>${extra}</div>` });
}

import type { DigestDay } from "../../ops/stats.js";
import { html, type SafeHtml } from "../html.js";

/** Series in stacking order (bottom first); colours work on light and dark backgrounds. */
export const DIGEST_SERIES = [
  { key: "sent", label: "sent", colour: "#2f9e44" },
  { key: "empty", label: "empty", colour: "#868e96" },
  { key: "failed", label: "failed", colour: "#e8590c" },
  { key: "bounced", label: "bounced", colour: "#c92a2a" },
] as const;

const W = 720;
const H = 240;
const PAD = { top: 12, right: 12, bottom: 28, left: 44 };

/** A round axis maximum (1, 2, 5 × 10^n) at or above the largest day. */
function niceMax(n: number): number {
  if (n <= 4) return 4;
  const exp = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * exp >= n) return m * exp;
  return 10 * exp;
}

/**
 * Digests per day as a stacked bar chart drawn on the server: one `<g class="day">`
 * per day (data-day, data-sent, …) with a <title> a screen reader and a hover both
 * show. No script, so the strict CSP holds.
 */
export function digestChart(days: DigestDay[]): SafeHtml {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const totals = days.map((d) => d.sent + d.empty + d.failed + d.bounced);
  const max = niceMax(Math.max(0, ...totals));
  const slot = days.length > 0 ? plotW / days.length : plotW;
  const barW = Math.max(2, slot * 0.7);
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const ticks = [0, max / 4, max / 2, (3 * max) / 4, max];
  const first = days[0]?.day ?? "";
  const last = days.at(-1)?.day ?? "";
  const sum = (k: (typeof DIGEST_SERIES)[number]["key"]) => days.reduce((a, d) => a + d[k], 0);

  const bars = days.map((d, i) => {
    const x = PAD.left + i * slot + (slot - barW) / 2;
    let base = 0;
    const rects = DIGEST_SERIES.map((s) => {
      const v = d[s.key];
      if (v === 0) return html``;
      const top = y(base + v);
      const h = y(base) - top;
      base += v;
      return html`<rect class="${s.key}" x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${s.colour}"></rect>`;
    });
    const label = `${d.day}: ${d.sent} sent, ${d.empty} empty, ${d.failed} failed, ${d.bounced} bounced`;
    // A transparent full-height rect keeps the hover/title target usable on empty days.
    return html`<g class="day" data-day="${d.day}" data-sent="${d.sent}" data-empty="${d.empty}" data-failed="${d.failed}" data-bounced="${d.bounced}" role="listitem" aria-label="${label}"><title>${label}</title><rect x="${(PAD.left + i * slot).toFixed(1)}" y="${PAD.top}" width="${slot.toFixed(1)}" height="${plotH}" fill="transparent"></rect>${rects}</g>`;
  });

  const xLabels = days
    .map((d, i) => ({ d, i }))
    // Weekly ticks counted back from today, so the last label is today's and none collide.
    .filter(({ i }) => (days.length - 1 - i) % 7 === 0)
    .map(({ d, i }) => html`<text x="${(PAD.left + i * slot + slot / 2).toFixed(1)}" y="${H - 8}" text-anchor="middle">${d.day.slice(5)}</text>`);

  const desc = `Digests per day from ${first} to ${last}: ${DIGEST_SERIES.map((s) => `${sum(s.key)} ${s.label}`).join(", ")}.`;
  return html`<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="digest-chart-title digest-chart-desc" class="digest-chart" data-days="${days.length}">
<title id="digest-chart-title">Digests per day, last ${days.length} days</title>
<desc id="digest-chart-desc">${desc}</desc>
<g class="axis" aria-hidden="true">
${ticks.map((t) => html`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="currentColor" stroke-opacity="0.15"></line><text x="${PAD.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${Number.isInteger(t) ? t : t.toFixed(1)}</text>`)}
${xLabels}
</g>
<g class="bars" role="list">${bars}</g>
</svg>
<figcaption class="legend">${DIGEST_SERIES.map((s) => html`<span><i style="background:${s.colour}"></i>${s.label} (${sum(s.key)})</span>`)}</figcaption>
</figure>`;
}

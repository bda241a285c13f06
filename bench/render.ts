/**
 * Render benchmark: per-email mjml2html (fill the MJML source, then run MJML, what a
 * naive sender does) against the compiled template fill the send pipeline uses, in
 * the same process on the same digests. Goal: the fill ≥ 200× faster.
 *
 * The digests are one day's send: PAPERS_PER_DAY papers, each digest holds 20 of them
 * with one of a few matched-topic sets, rendered in batches of BATCH (a send job) with
 * a fresh batch render each, so a paper is filled once per batch and matched words,
 * as the send pipeline does. The cold fill (no reuse across digests) is printed too.
 * The two sides alternate in rounds and the median ratio is the result: on a shared
 * machine MJML's time alone swings by 2× between runs.
 *
 *   npx tsx bench/render.ts
 */
import { performance } from "node:perf_hooks";
import type { DigestInput, DigestPaper } from "../src/digests/digest-input.js";
import { createDigestRenderer } from "../src/digests/render.js";
import type { DigestView } from "../src/digests/view-model.js";
import { createHandlebars, mjmlToHtml, readTemplate } from "../src/mail/templates.js";

const ctx = { publicUrl: "https://paperboy.example.org", secret: "bench-secret-bench-secret-bench-secret-01", postalAddress: "paperboy, 1 Example Street, 10115 Berlin, Germany" };
const WORDS = "diffusion models reasoning test-time compute language agents benchmark scaling tokens verifier sampling policy reward attention".split(" ");

const PAPERS_PER_DAY = 120;
const BATCH = 250;
const MATCHES = [
  { matchedTopics: ["diffusion", "test-time compute"], matchedWords: ["diffusion", "test-time", "compute"] },
  { matchedTopics: ["diffusion"], matchedWords: ["diffusion"] },
  { matchedTopics: ["reasoning", "language agents"], matchedWords: ["reasoning", "language", "agents"] },
  { matchedTopics: ["scaling"], matchedWords: ["scaling"] },
];

function paper(i: number): DigestPaper {
  const words = Array.from({ length: 190 }, (_, k) => WORDS[(i * 7 + k * 3) % WORDS.length]).join(" ");
  return {
    rank: (i % 20) + 1,
    title: `Scaling ${WORDS[i % WORDS.length]} for ${WORDS[(i + 3) % WORDS.length]}: a study of test-time compute in diffusion models (${i})`,
    abstract: `${words}.`,
    authors: ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth", "Frances Allen"],
    upvotes: i % 97,
    arxivUrl: `https://arxiv.org/abs/2511.${10000 + i}`,
    pdfUrl: `https://arxiv.org/pdf/2511.${10000 + i}`,
    hfUrl: `https://huggingface.co/papers/2511.${10000 + i}`,
    githubRepo: i % 2 ? "example/diffusion-reasoning" : null,
    projectPage: i % 3 ? null : `https://example.org/project/${i}`,
    aiSummary: null,
    id: i,
    ...MATCHES[0]!,
  };
}

export function benchDigest(id: number, papers = 20): DigestInput {
  return {
    digestId: id,
    period: "2026-11-28",
    recipient: { subscriberId: id, tokenVersion: 1, email: `reader${id}@example.org`, frequency: "daily", timezone: "UTC" },
    papers: Array.from({ length: papers }, (_, k) => ({ ...paper((id * 7 + k * 3) % PAPERS_PER_DAY), ...MATCHES[(id + k) % MATCHES.length]!, rank: k + 1 })),
  };
}

// MAIL_FAST_PATHS=false measures the plain path (Handlebars instead of the direct fill).
const renderer = await createDigestRenderer(ctx, { fastPaths: process.env.MAIL_FAST_PATHS !== "false" });
const fillSource = createHandlebars().compile<DigestView>(await readTemplate("digest.mjml"));
const digests = Array.from({ length: 2000 }, (_, i) => benchDigest(i + 1));

// Warm up both paths (JIT, MJML's lazy requires).
for (const d of digests.slice(0, 5)) await mjmlToHtml(fillSource(renderer.view(d)));
for (const d of digests.slice(0, 500)) renderer.render(d);
const warm = renderer.batch();
for (const d of digests.slice(0, 1000)) warm(d);

// Rounds alternate the two sides, so a burst of other work on the machine lands on both
// rather than on one of them; each round gives a ratio and the median is the result.
const ROUNDS = 5;
const SLOW = 8;
const FAST = 2000;
const ratios: number[] = [];
let slowMs = 0;
let fastMs = 0;
let slowBytes = 0;
let fastBytes = 0;
let render = renderer.batch();
for (let round = 0; round < ROUNDS; round++) {
  let t = performance.now();
  for (let i = 0; i < SLOW; i++) slowBytes += (await mjmlToHtml(fillSource(renderer.view(digests[(round * SLOW + i) % digests.length]!)))).length;
  const slow = (performance.now() - t) / SLOW;
  t = performance.now();
  for (let i = 0; i < FAST; i++) {
    if (i % BATCH === 0) render = renderer.batch();
    const r = render(digests[(round * FAST + i) % digests.length]!);
    fastBytes += r.html.length + r.text.length;
  }
  const fast = (performance.now() - t) / FAST;
  ratios.push(slow / fast);
  slowMs += slow / ROUNDS;
  fastMs += fast / ROUNDS;
}
ratios.sort((a, b) => a - b);
const median = ratios[Math.floor(ROUNDS / 2)] ?? 0;

const COLD = 1000;
const t = performance.now();
for (let i = 0; i < COLD; i++) renderer.render(digests[i % digests.length]!);
const coldMs = (performance.now() - t) / COLD;

const sample = renderer.render(digests[0]!);
process.stdout.write(
  [
    `digest: 20 papers, HTML ${(Buffer.byteLength(sample.html) / 1024).toFixed(1)} KB, text ${(Buffer.byteLength(sample.text) / 1024).toFixed(1)} KB`,
    `per-email mjml2html (fill MJML source, then MJML): ${slowMs.toFixed(2)} ms/email  (${ROUNDS * SLOW} emails, ${(slowBytes / ROUNDS / SLOW / 1024).toFixed(1)} KB avg)`,
    `compiled fill, batch of ${BATCH} (HTML + text):       ${(fastMs * 1000).toFixed(1)} µs/email  (${ROUNDS * FAST} emails, ${(fastBytes / ROUNDS / FAST / 1024).toFixed(1)} KB avg, ${PAPERS_PER_DAY} papers in the day)`,
    `compiled fill, cold (every paper filled anew):      ${(coldMs * 1000).toFixed(1)} µs/email  (${COLD} emails)`,
    `ratio in a batch, ${ROUNDS} alternating rounds: median ${median.toFixed(0)}× (${(ratios[0] ?? 0).toFixed(0)}–${(ratios[ROUNDS - 1] ?? 0).toFixed(0)}×); cold ${(slowMs / coldMs).toFixed(0)}× (goal ≥ 200×)`,
    "",
  ].join("\n"),
);

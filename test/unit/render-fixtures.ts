import type { DigestInput, DigestPaper } from "../../src/digests/digest-input.js";

export const ctx = {
  publicUrl: "https://paperboy.example.org",
  secret: "unit-secret-unit-secret-unit-secret-01",
  postalAddress: "paperboy, 1 Example Street, 10115 Berlin, Germany",
};

const ABSTRACT =
  "We study diffusion models for language generation and show that test-time compute scales reasoning quality. " +
  "Our method trains a denoiser over discrete tokens & compares it with autoregressive baselines on math, code and planning benchmarks, " +
  "finding that more sampling steps help when the verifier is strong. We release code and checkpoints.";

export function paper(i: number, over: Partial<DigestPaper> = {}): DigestPaper {
  return {
    rank: i,
    title: `Scaling Diffusion Models for Reasoning, part ${i}`,
    abstract: ABSTRACT,
    authors: ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth"].slice(0, 1 + (i % 6)),
    upvotes: i * 7,
    arxivUrl: `https://arxiv.org/abs/2511.${String(10000 + i)}`,
    pdfUrl: `https://arxiv.org/pdf/2511.${String(10000 + i)}`,
    hfUrl: i % 2 === 0 ? `https://huggingface.co/papers/2511.${String(10000 + i)}` : null,
    githubRepo: i % 3 === 0 ? "example/diffusion-reasoning" : null,
    projectPage: null,
    aiSummary: i % 4 === 0 ? "A diffusion language model that spends test-time compute on reasoning." : null,
    matchedTopics: i % 2 === 0 ? ["diffusion", "test-time compute"] : ["diffusion"],
    matchedWords: ["diffusion", "test-time", "compute"],
    ...over,
  };
}

export function digest(id: number, n: number, over: Partial<DigestInput> = {}): DigestInput {
  return {
    digestId: id,
    period: "2026-11-28",
    recipient: { subscriberId: 40 + id, tokenVersion: 1, email: `reader${id}@example.org`, frequency: "daily", timezone: "UTC" },
    papers: Array.from({ length: n }, (_, i) => paper(i + 1)),
    ...over,
  };
}

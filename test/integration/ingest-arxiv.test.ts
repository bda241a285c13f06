import { describe, expect, it } from "vitest";
import { desc } from "drizzle-orm";
import { ingestRuns } from "../../src/db/schema.js";
import { ingestDay } from "../../src/papers/ingest.js";
import { createSource } from "../../src/papers/sources/index.js";
import { arxivSample, hfEntry, ingestHarness, sourcesConfig } from "../helpers/papers.js";

const DAY = "2026-11-27";

interface AtomEntry {
  id: string;
  title?: string;
  summary?: string;
  categories: string[];
  authors?: string[];
}

/** An export API page in the recorded shape (namespaces, opensearch counts, arxiv: elements). */
function atom(total: number, start: number, entries: AtomEntry[]): string {
  const body = entries
    .map(
      (e) => `  <entry>
    <id>http://arxiv.org/abs/${e.id}</id>
    <title>${e.title ?? `Paper ${e.id}`}</title>
    <updated>2026-11-27T10:00:00Z</updated>
    <link href="https://arxiv.org/abs/${e.id}" rel="alternate" type="text/html"/>
    <summary>${e.summary ?? `Abstract of ${e.id}.`}</summary>
${e.categories.map((c) => `    <category term="${c}" scheme="http://arxiv.org/schemas/atom"/>`).join("\n")}
    <published>2026-11-27T09:30:00Z</published>
    <arxiv:primary_category term="${e.categories[0] ?? "cs.CL"}"/>
${(e.authors ?? ["A. Author"]).map((a) => `    <author><name>${a}</name></author>`).join("\n")}
  </entry>`,
    )
    .join("\n");
  return `<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/test</id>
  <title>arXiv Query</title>
  <updated>2026-11-27T10:00:00Z</updated>
  <opensearch:itemsPerPage>${entries.length}</opensearch:itemsPerPage>
  <opensearch:totalResults>${total}</opensearch:totalResults>
  <opensearch:startIndex>${start}</opensearch:startIndex>
${body}
</feed>`;
}
const xml = (body: string, status = 200) => ({ status, headers: { "content-type": "application/atom+xml; charset=utf-8" }, body });

describe("ingest from the arXiv export API", () => {
  const h = ingestHarness();

  const arxiv = (pageSize = 200) =>
    createSource("arxiv", { config: sourcesConfig(h.server.url, h.server.url, ["cs.CL", "cs.LG"]), clock: h.clock, arxivPageSize: pageSize });
  const { deps, rows, log } = h;

  it("parses the recorded Atom feed: namespaces, authors, categories, versions stripped", async () => {
    // The recorded page claims 1873 results; by the follow-up page the total reads 2.
    h.server.route("/api/query", (url) => xml(url.searchParams.get("start") === "0" ? arxivSample() : atom(2, 2, [])));
    const run = await ingestDay(deps(), arxiv(), DAY);
    expect(run).toMatchObject({ status: "succeeded", fetched: 2, inserted: 2, skipped: 0 });
    const [older, newer] = await rows();
    expect(newer).toMatchObject({
      arxivId: "2510.99877",
      title: "Citation-Grounded Retrieval Augmented Generation with Verifiable Span Attribution",
      authors: ["Ana Lucia Ferreira", "Dmitri Volkov", "Grace Lindqvist"],
      categories: ["cs.CL", "cs.IR"],
      publishedAt: new Date("2025-10-28T17:42:19Z"),
      listingDay: DAY,
      upvotes: 0,
      arxivUrl: "https://arxiv.org/abs/2510.99877",
      pdfUrl: "https://arxiv.org/pdf/2510.99877",
      hfUrl: null,
      aiKeywords: [],
      sources: ["arxiv"],
    });
    expect(older).toMatchObject({ arxivId: "2509.99642", categories: ["cs.CL", "cs.AI", "cs.LG"], authors: ["Oskar Nilsson", "Yuki Tanaka"] });
  });

  it("asks for the day's submissions in the followed categories, newest first", async () => {
    h.server.route("/api/query", xml(atom(0, 0, [])));
    await ingestDay(deps(), arxiv(), DAY);
    const q = h.server.requests[0]?.searchParams;
    expect(q?.get("search_query")).toBe("(cat:cs.CL OR cat:cs.LG) AND submittedDate:[202611270000 TO 202611272359]");
    expect([q?.get("sortBy"), q?.get("sortOrder"), q?.get("start"), q?.get("max_results")]).toEqual(["submittedDate", "descending", "0", "200"]);
  });

  it("strips versions of new and old style ids, collapses wrapped titles and keeps LaTeX, < and & exactly", async () => {
    h.server.route(
      "/api/query",
      xml(
        atom(3, 0, [
          { id: "2611.12345v3", categories: ["cs.LG"], title: "Attention in\n      $O(n\\log n)$ &amp; &lt;beyond&gt;", summary: "  First line\n  second line with ü.\n" },
          { id: "hep-th/9901001v1", categories: ["cs.CL"] },
          { id: "2611.00001", categories: ["cs.CL"] },
        ]),
      ),
    );
    await ingestDay(deps(), arxiv(), DAY);
    const all = await rows();
    expect(all.map((r) => r.arxivId)).toEqual(["2611.00001", "2611.12345", "hep-th/9901001"]);
    expect(all[1]?.title).toBe("Attention in $O(n\\log n)$ & <beyond>");
    expect(all[1]?.abstract).toBe("First line second line with ü.");
    expect(all[2]?.arxivUrl).toBe("https://arxiv.org/abs/hep-th/9901001");
  });

  it("pages with start and max_results until totalResults, one request every 3 seconds", async () => {
    const entries = Array.from({ length: 5 }, (_, i) => ({ id: `2611.0010${i}v1`, categories: ["cs.CL"] }));
    const sentAt: number[] = [];
    h.server.route("/api/query", (url) => {
      sentAt.push(h.clock.now());
      const start = Number(url.searchParams.get("start"));
      const max = Number(url.searchParams.get("max_results"));
      return xml(atom(entries.length, start, entries.slice(start, start + max)));
    });
    const source = arxiv(2);
    const run = await ingestDay(deps(), source, DAY);
    expect(run).toMatchObject({ status: "succeeded", fetched: 5, inserted: 5 });
    expect(h.server.requests.map((u) => u.searchParams.get("start"))).toEqual(["0", "2", "4"]);
    // Measured on the fake clock: the limiter waited, the test did not.
    expect(sentAt.map((t) => t - (sentAt[0] ?? 0))).toEqual([0, 3000, 6000]);
    expect(h.clock.sleeps).toEqual([3000, 3000]);

    // The spacing holds across runs of the same source, too.
    h.server.requests.length = 0;
    sentAt.length = 0;
    h.clock.t += 1000;
    await ingestDay(deps(), source, "2026-11-26");
    expect(h.clock.sleeps.slice(2, 3)).toEqual([2000]);
  });

  it("stores a paper cross-listed in two followed categories once", async () => {
    // The listing shifted between pages: the same paper arrives twice.
    h.server.route("/api/query", (url) =>
      url.searchParams.get("start") === "0"
        ? xml(atom(3, 0, [{ id: "2611.20001v1", categories: ["cs.CL", "cs.LG"] }, { id: "2611.20002v1", categories: ["cs.LG"] }]))
        : xml(atom(3, 2, [{ id: "2611.20001v2", categories: ["cs.LG", "cs.CL", "stat.ML"] }])),
    );
    const run = await ingestDay(deps(), arxiv(2), DAY);
    expect(run).toMatchObject({ status: "succeeded", fetched: 3, inserted: 2 });
    const all = await rows();
    expect(all.map((r) => [r.arxivId, r.categories])).toEqual([
      ["2611.20001", ["cs.CL", "cs.LG", "stat.ML"]],
      ["2611.20002", ["cs.LG"]],
    ]);
  });

  it("merges a paper seen by Hugging Face and arXiv: upvotes and AI fields from HF, categories from arXiv", async () => {
    h.server.route("/api/daily_papers", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        hfEntry("2611.30001", { upvotes: 12, ai_summary: "HF summary.", ai_keywords: ["mamba"], githubRepo: "https://github.com/x/y", title: "HF title" }),
      ]),
    });
    h.server.route("/api/query", xml(atom(1, 0, [{ id: "2611.30001v2", categories: ["cs.LG", "cs.CL"], title: "arXiv title", authors: ["B. One", "C. Two"] }])));
    const hf = createSource("huggingface", { config: sourcesConfig(h.server.url, h.server.url), clock: h.clock });

    await ingestDay(deps(), hf, DAY);
    const [fromHf] = await rows();
    await ingestDay(deps(), arxiv(), DAY);
    // Hugging Face again, with more votes: upvotes refresh, arXiv's fields stay.
    h.server.route("/api/daily_papers", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify([hfEntry("2611.30001", { upvotes: 30, ai_keywords: ["mamba"], title: "HF title" })]),
    });
    await ingestDay(deps(), hf, DAY);

    const all = await rows();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      arxivId: "2611.30001",
      title: "arXiv title",
      authors: ["B. One", "C. Two"],
      upvotes: 30,
      aiSummary: "HF summary.",
      aiKeywords: ["mamba"],
      githubRepo: "https://github.com/x/y",
      hfUrl: "https://huggingface.co/papers/2611.30001",
      categories: ["cs.LG", "cs.CL"],
      sources: ["arxiv", "huggingface"],
      firstSeenAt: fromHf?.firstSeenAt,
    });
  });

  it("fails the run when a page comes back empty before totalResults is reached", async () => {
    h.server.route("/api/query", (url) =>
      xml(url.searchParams.get("start") === "0" ? atom(4, 0, [{ id: "2611.70001v1", categories: ["cs.CL"] }, { id: "2611.70002v1", categories: ["cs.CL"] }]) : atom(4, 2, [])),
    );
    const run = await ingestDay(deps(), arxiv(2), DAY);
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/^arxiv: GET .* returned no entries at start=2 of 4/);
    expect(await rows()).toEqual([]);
  });

  it("records a weekend day without submissions as a normal run", async () => {
    h.server.route("/api/query", xml(atom(0, 0, [])));
    const run = await ingestDay(deps(), arxiv(), "2026-11-28");
    expect(run).toMatchObject({ status: "succeeded", fetched: 0, inserted: 0 });
    expect(h.server.requests).toHaveLength(1);
    const [recorded] = await h.database.db.select().from(ingestRuns).orderBy(desc(ingestRuns.id)).limit(1);
    expect(recorded).toMatchObject({ source: "arxiv", day: "2026-11-28", status: "succeeded", fetched: 0 });
  });

  it("skips an entry without a usable id and keeps the rest", async () => {
    h.server.route("/api/query", xml(atom(2, 0, [{ id: "2611.40001v1", categories: ["cs.CL"] }, { id: "not/an id", categories: ["cs.CL"] }])));
    const run = await ingestDay(deps(), arxiv(), DAY);
    expect(run).toMatchObject({ status: "succeeded", fetched: 2, inserted: 1, skipped: 1 });
    expect(log.lines().some((l) => l.msg === "skipped an invalid paper entry" && String(l.paperId).includes("not/an id"))).toBe(true);
  });

  it("fails the run clearly on an HTML page, malformed XML, a foreign XML document and an API error feed", async () => {
    const cases: [ReturnType<typeof xml>, RegExp][] = [
      [{ status: 200, headers: { "content-type": "text/html" }, body: "<!DOCTYPE html>\n<html><head><title>arXiv is down for maintenance</title></head><body><p>Sorry<br></p></body></html>" }, /^arxiv: expected an Atom feed from GET .*, got an HTML page \("arXiv is down for maintenance"\)/],
      [xml(arxivSample().slice(0, 1500)), /^arxiv: expected an Atom feed from GET .*, got malformed XML/],
      [xml("<?xml version='1.0'?><rss><channel></channel></rss>"), /^arxiv: expected an Atom feed .*got <rss>/],
      [
        xml(atom(1, 0, []).replace("</feed>", "<entry><id>http://arxiv.org/api/errors#incorrect_id_format</id><title>Error</title><summary>incorrect id format for 1234</summary></entry></feed>")),
        /^arxiv: the API refused the query: incorrect id format for 1234/,
      ],
    ];
    for (const [answer, message] of cases) {
      h.server.route("/api/query", answer);
      const run = await ingestDay(deps(), arxiv(), DAY);
      expect(run.status).toBe("failed");
      expect(run.error).toMatch(message);
    }
    expect(await rows()).toEqual([]);
    const failed = await h.database.db.select().from(ingestRuns);
    expect(failed.map((r) => r.status)).toEqual(["failed", "failed", "failed", "failed"]);
  });
});

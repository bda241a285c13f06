import { describe, expect, it } from "vitest";
import { parseSubscriberCsv } from "../../src/subscribers/transfer.js";

describe("subscriber CSV checking", () => {
  it("reports every bad row by its line, with the field, and keeps the good ones apart", () => {
    const csv = [
      "email,timezone,send_hour,topics",
      'ok@example.org,Europe/Berlin,7,"[""diffusion models"",""mamba or ssm""]"',
      "not-an-email,UTC,8,reasoning",
      "tz@example.org,Mars/Olympus,8,reasoning",
      'multi@example.org,UTC,8,"reasoning | test-time',
      'compute"',
      "hour@example.org,UTC,24,reasoning",
      "OK@example.org,UTC,8,agents",
      "notopics@example.org,UTC,8,",
      "long@example.org,UTC,8," + "x".repeat(101),
    ].join("\n");
    const { rows, problems } = parseSubscriberCsv(csv);
    expect(problems.map((p) => [p.line, p.field])).toEqual([
      [3, "email"],
      [4, "timezone"],
      [7, "send_hour"],
      [8, "email"],
      [10, "topics.0"],
    ]);
    expect(problems.find((p) => p.line === 8)?.message).toBe("the same address as line 2");
    expect(rows.map((r) => [r.line, r.email, r.topics])).toEqual([
      [2, "ok@example.org", ["diffusion models", "mamba or ssm"]],
      [5, "multi@example.org", ["reasoning", "test-time compute"]],
      [9, "notopics@example.org", []],
    ]);
    expect(rows[0]).toMatchObject({ timezone: "Europe/Berlin", send_hour: 7, frequency: "daily", max_papers: 10, send_when_empty: false });
  });

  it("refuses unknown columns and a missing email column before looking at rows", () => {
    const { problems } = parseSubscriberCsv("mail,timezon\nx@example.org,UTC\n");
    expect(problems).toEqual([
      { line: 1, message: expect.stringContaining('unknown columns "mail", "timezon"') as string },
      { line: 1, field: "email", message: 'the "email" column is missing' },
    ]);
  });

  it("reads a row without topics, or a file without a topics column, as a trending subscription", () => {
    const { rows, problems } = parseSubscriberCsv("email,add_trending\nx@example.org,\ny@example.org,yes\n");
    expect(problems).toEqual([]);
    expect(rows.map((r) => [r.email, r.topics, r.add_trending])).toEqual([
      ["x@example.org", [], false],
      ["y@example.org", [], true],
    ]);
  });

  it("reports a broken quote as unreadable CSV with its line", () => {
    const { problems } = parseSubscriberCsv('email,topics\na@example.org,ok\nb@example.org,"unterminated\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/not readable as CSV/);
    expect(problems[0]?.line).toBeGreaterThanOrEqual(3);
  });
});

import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planDigests } from "../../src/digests/plan.js";
import { subscriberSendStatus } from "../../src/digests/status.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { addPaper, addSubscriber } from "./match-fixtures.js";

describe("subscriberSendStatus", () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    await addPaper(tdb.db, { title: "Diffusion for video", listingDay: "2026-11-26", firstSeenAt: "2026-11-26T06:00:00Z" });
  });
  afterAll(async () => {
    await tdb?.close();
  });

  it("answers 'why did I get nothing': last digest, next send in the subscriber's zone, last ingest", async () => {
    const id = await addSubscriber(tdb.db, { topics: ["quantum chemistry"], timezone: "Pacific/Kiritimati", sendHour: 8 });
    const before = await subscriberSendStatus(tdb.db, id, new Date("2026-11-26T10:00:00Z"));
    expect(before).toEqual({
      timezone: "Pacific/Kiritimati",
      lastDigest: null,
      nextSend: { period: "2026-11-27", at: "2026-11-26T18:00:00.000Z", atLocal: "2026-11-27T08:00", dueNow: false },
      lastIngest: null,
    });

    // The send hour has come but the hourly planner has not run yet.
    expect((await subscriberSendStatus(tdb.db, id, new Date("2026-11-26T18:20:00Z")))?.nextSend).toMatchObject({
      period: "2026-11-27",
      dueNow: true,
    });

    await planDigests(tdb.db, { now: new Date("2026-11-26T19:00:00Z") });
    await tdb.db.execute(sql`insert into ingest_runs (source, day, status, fetched, inserted, updated, started_at, finished_at)
      values ('huggingface', '2026-11-26', 'succeeded', 12, 10, 2, '2026-11-26T06:00:00Z', '2026-11-26T06:00:09Z')`);
    const after = await subscriberSendStatus(tdb.db, id, new Date("2026-11-26T19:30:00Z"));
    expect(after).toEqual({
      timezone: "Pacific/Kiritimati",
      lastDigest: { period: "2026-11-27", status: "empty", paperCount: 0, at: "2026-11-26T19:00:00.000Z", sentAt: null },
      nextSend: { period: "2026-11-28", at: "2026-11-27T18:00:00.000Z", atLocal: "2026-11-28T08:00", dueNow: false },
      lastIngest: {
        source: "huggingface",
        day: "2026-11-26",
        status: "succeeded",
        startedAt: "2026-11-26T06:00:00.000Z",
        finishedAt: "2026-11-26T06:00:09.000Z",
        inserted: 10,
        updated: 2,
      },
    });
  });

  it("gives weekly subscribers their weekday, and no next send while paused", async () => {
    const weekly = await addSubscriber(tdb.db, { topics: ["diffusion"], frequency: "weekly", weekday: 1, sendHour: 7, timezone: "Etc/GMT+12" });
    expect((await subscriberSendStatus(tdb.db, weekly, new Date("2026-11-26T12:00:00Z")))?.nextSend).toEqual({
      period: "2026-11-30",
      at: "2026-11-30T19:00:00.000Z",
      atLocal: "2026-11-30T07:00",
      dueNow: false,
    });
    const paused = await addSubscriber(tdb.db, { topics: ["diffusion"], paused: true });
    expect((await subscriberSendStatus(tdb.db, paused, new Date("2026-11-26T12:00:00Z")))?.nextSend).toBeNull();
    expect(await subscriberSendStatus(tdb.db, 999_999, new Date())).toBeNull();
  });
});

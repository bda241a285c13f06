import { describe, expect, it } from "vitest";
import { createAcceptanceRecorder } from "../../src/digests/acceptances.js";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("acceptances recorded in groups", () => {
  it("writes a group once K are waiting, and never lets more than the limit go unrecorded", async () => {
    const writes: number[][] = [];
    let finishWrite: (() => void) | undefined;
    const rec = createAcceptanceRecorder({
      group: 2,
      intervalMs: 60_000,
      limit: 3,
      write: (ids) => {
        writes.push(ids);
        return new Promise<void>((resolve) => (finishWrite = resolve));
      },
    });
    for (const id of [1, 2]) {
      await rec.reserve();
      rec.accepted(id);
    }
    expect(writes).toEqual([[1, 2]]);
    await rec.reserve();
    rec.accepted(3);
    // 1 and 2 are being written, 3 waits: a fourth email would make four unrecorded.
    let fourth = false;
    const reserved = rec.reserve().then(() => (fourth = true));
    await tick();
    expect(fourth).toBe(false);
    finishWrite?.();
    await reserved;
    expect(fourth).toBe(true);
    rec.accepted(4);
    await tick();
    expect(writes).toEqual([[1, 2], [3, 4]]);
    finishWrite?.();
    await rec.drain();
  });

  it("writes a smaller group once the interval has passed, and drain writes the rest", async () => {
    const writes: number[][] = [];
    const rec = createAcceptanceRecorder({ group: 10, intervalMs: 20, limit: 10, write: async (ids) => void writes.push(ids) });
    await rec.reserve();
    rec.accepted(7);
    await new Promise((r) => setTimeout(r, 100));
    expect(writes).toEqual([[7]]);
    await rec.reserve();
    rec.accepted(8);
    await rec.reserve();
    rec.release();
    await rec.drain();
    expect(writes).toEqual([[7], [8]]);
  });

  it("once a write has failed for good, no further email is let out and drain reports it", async () => {
    const rec = createAcceptanceRecorder({ group: 1, intervalMs: 10, limit: 1, write: () => Promise.reject(new Error("database away")) });
    await rec.reserve();
    rec.accepted(1);
    await expect(rec.reserve()).rejects.toThrow("database away");
    await expect(rec.drain()).rejects.toThrow("database away");
  });
});

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawnEntry } from "../helpers/spawn.js";

describe(".env in the working directory", () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("is read at startup, and a variable set in the real environment wins over it", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "paperboy-env-"));
    // Bad values, so the server stops at the config check and says which ones it saw.
    await writeFile(path.join(dir, ".env"), "# as after cp .env.example .env\nPORT=not-a-port   # from .env\nSEND_BATCH_SIZE=0\n");
    const p = spawnEntry("src/main/server.ts", [], { SEND_BATCH_SIZE: "100" }, { cwd: dir });
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/PORT: /);
    expect(p.output()).not.toMatch(/SEND_BATCH_SIZE/);
  });
});

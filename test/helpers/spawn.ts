import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface Spawned {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal name) once the process ends. */
  exited: Promise<number | string>;
  /** Resolves when `pattern` appears in stdout/stderr; rejects if the process exits first or on timeout. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Runs a TypeScript entry point (src/main/*.ts, relative to the repository) as its own
 * process with a clean, explicit environment; in the repository unless `cwd` says otherwise.
 */
export function spawnEntry(entry: string, args: string[], env: Record<string, string>, opts: { cwd?: string } = {}): Spawned {
  // One process (node --import tsx), as `npm start` runs it: signals reach the app directly.
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), path.resolve(repoRoot, entry), ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    listeners.forEach((l) => l());
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      listeners.forEach((l) => l());
      resolve(code ?? signal ?? -1);
    }),
  );
  return {
    child,
    output: () => out,
    exited,
    waitForOutput(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`));
        }, timeoutMs);
        const check = () => {
          if (pattern.test(out)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(new Error(`process exited before ${pattern}; output:\n${out}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Resolves once the child has exited (at once if it already has). */
export const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));

/**
 * test/helpers/send-worker.ts as its own process, the worker the crash tests kill.
 * `node --import tsx` rather than npx: one process, so its pid is the worker's.
 * `ready` resolves when it says so (or when the test killed it before that).
 */
export function spawnSendWorker(env: NodeJS.ProcessEnv): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, ["--import", "tsx", "test/helpers/send-worker.ts"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (c: Buffer) => {
      if (c.toString().includes("ready")) resolve();
    });
    // Killed by the test before it printed "ready" still counts as started.
    child.once("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`worker exited early (${code}): ${err}`))));
  });
  // A test that never waits for `ready` must not leave a rejection nobody handles.
  ready.catch(() => undefined);
  return { child, ready };
}

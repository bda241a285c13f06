import { createServer } from "node:net";

/**
 * A port free on 127.0.0.1 a moment ago, for a server that must be started on a known
 * port: a private Postgres, or an app whose PUBLIC_URL (the links in its emails) must
 * be known before it listens.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

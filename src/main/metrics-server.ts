import { createServer, type Server } from "node:http";
import { presentedToken, REALM } from "../http/admin/auth.js";
import { sameSecret } from "../subscribers/tokens.js";
import type { Metrics } from "../metrics.js";

/**
 * Worker processes have no API, yet they do the sending and ingesting: this serves
 * their own /metrics (Prometheus text) on WORKER_METRICS_PORT for a scraper. Like the
 * API's, it needs ADMIN_TOKEN (bearer, or basic auth's password) when one is set.
 */
export async function startMetricsServer(metrics: Metrics, host: string, port: number, adminToken?: string): Promise<{ close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /metrics\n");
      return;
    }
    if (adminToken) {
      const presented = presentedToken(req.headers.authorization);
      if (!presented || !sameSecret(presented.token, adminToken)) {
        res.writeHead(401, { "content-type": "text/plain", "www-authenticate": REALM }).end("ADMIN_TOKEN required: send it as a bearer token or as the basic-auth password\n");
        return;
      }
    }
    metrics.render().then(
      (body) => res.writeHead(200, { "content-type": metrics.contentType, "cache-control": "no-store" }).end(body),
      () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

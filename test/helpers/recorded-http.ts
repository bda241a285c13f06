import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/** One recorded answer: status, headers and body as the real service sent them. */
export interface Recorded {
  status?: number;
  headers?: Record<string, string>;
  body: string | Buffer;
  /** Hold the answer back this long (to exercise client timeouts). */
  delayMs?: number;
}

/** Answers for a path: one fixed answer, a queue (consumed in order, last one repeats), or a function of the request URL. */
export type Route = Recorded | Recorded[] | ((url: URL, req: IncomingMessage) => Recorded);

export interface RecordedServer {
  url: string;
  /** Every request received, in order (path + query). */
  requests: URL[];
  route(path: string, answer: Route): void;
  close(): Promise<void>;
}

/** A local HTTP server standing in for an outside API (Hugging Face, arXiv), serving recorded responses. */
export async function startRecordedServer(routes: Record<string, Route> = {}): Promise<RecordedServer> {
  const table = new Map<string, Route>(Object.entries(routes));
  const requests: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    requests.push(url);
    const route = table.get(url.pathname);
    let answer: Recorded;
    if (!route) answer = { status: 404, headers: { "content-type": "text/plain" }, body: "not recorded" };
    else if (typeof route === "function") answer = route(url, req);
    else if (Array.isArray(route)) answer = (route.length > 1 ? route.shift() : route[0]) ?? { status: 500, body: "" };
    else answer = route;
    const send = () => {
      res.writeHead(answer.status ?? 200, answer.headers ?? { "content-type": "application/json" });
      res.end(answer.body);
    };
    if (answer.delayMs) setTimeout(send, answer.delayMs);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route: (path, answer) => void table.set(path, answer),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

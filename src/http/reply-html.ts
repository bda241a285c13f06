import type { FastifyInstance, FastifyReply } from "fastify";

declare module "fastify" {
  interface FastifyReply {
    /** Sends a server-rendered page (or an email's HTML) as text/html in UTF-8. */
    html(page: string | Buffer): this;
  }
}

/** Adds reply.html(); registered by buildApp before any route. */
export function decorateHtmlReply(app: FastifyInstance): void {
  app.decorateReply("html", function (this: FastifyReply, page: string | Buffer) {
    return this.type("text/html; charset=utf-8").send(page);
  });
}

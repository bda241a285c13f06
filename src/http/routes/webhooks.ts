import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { sendgridPublicKey } from "../../config.js";
import { AppError } from "../../errors.js";
import type { ProviderEvent } from "../../ops/webhooks/common.js";
import { mailgunBody, mailgunEvents, verifyMailgun } from "../../ops/webhooks/mailgun.js";
import { postmarkBody, postmarkEvents, verifyPostmark } from "../../ops/webhooks/postmark.js";
import { recordProviderEvents, redisSeenWebhookPosts } from "../../ops/webhooks/record.js";
import { resendBody, resendEvents, verifyResend } from "../../ops/webhooks/resend.js";
import { sendgridBody, sendgridEvents, verifySendgrid } from "../../ops/webhooks/sendgrid.js";
import { createSnsFetch, createSnsVerifier, parseSesNotification, sesEvents, snsBody } from "../../ops/webhooks/ses.js";
import type { AppDeps } from "../deps.js";
import { errorBody } from "../schemas.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The body's bytes as they arrived: what provider signatures are computed over. */
    rawBody?: Buffer;
  }
}


const outcome = z.object({
  events: z.number().int().describe("Bounces and complaints in the payload"),
  matched: z.number().int().describe("Of those, the ones that matched a subscriber"),
  confirmed: z.boolean().optional().describe("SES only: whether the SNS subscription was confirmed"),
  duplicate: z.boolean().optional().describe("This exact post was recorded before (a retry): nothing was recorded again"),
});

const responses = { 200: outcome, 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 413: errorBody };

/** Batches (SendGrid) and SES notifications with their headers are larger than a form post. */
const BODY_LIMIT = 1024 * 1024;

/**
 * POST /webhooks/{ses,postmark,sendgrid,mailgun,resend}: each provider's bounce and
 * complaint notifications in its own format, verified its own way (ops/webhooks/*).
 * A provider whose secret is not configured answers 404. Hard bounces and complaints
 * suppress the subscriber; soft bounces are recorded only.
 */
export const providerWebhookRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  const { config } = deps;

  // Signatures are over the exact bytes: keep them, then parse JSON as fastify does
  // (prototype poisoning refused). SNS posts its JSON as text/plain.
  app.removeContentTypeParser(["application/json", "text/plain"]);
  const json = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser(["application/json", "text/plain"], { parseAs: "buffer", bodyLimit: BODY_LIMIT }, (req, body, done) => {
    const bytes = body as Buffer;
    req.rawBody = bytes;
    void json(req, bytes.toString("utf8"), done);
  });

  const requires = (value: unknown, provider: string, variable: string) => async () => {
    if (value === undefined) throw new AppError("WEBHOOK_DISABLED", `The ${provider} webhook is off: set ${variable} to turn it on.`);
  };
  const raw = (req: FastifyRequest) => req.rawBody ?? Buffer.alloc(0);
  const recordDeps = { pool: deps.pool, events: { mailDomain: config.MAIL_DOMAIN, bounceLimit: config.BOUNCE_LIMIT }, seen: redisSeenWebhookPosts(deps.redis, config.QUEUE_PREFIX), logger: deps.logger };
  const record = async (req: FastifyRequest, source: string, events: ProviderEvent[], signedPost?: string) => {
    const result = await recordProviderEvents(recordDeps, source, raw(req), events, signedPost);
    req.log.info({ provider: source, ...result }, "provider webhook");
    return result;
  };
  const schema = (summary: string, description: string) => ({ tags: ["webhooks"], summary, description, response: responses });

  const topicArns = config.SES_SNS_TOPIC_ARNS;
  const sns = topicArns ? createSnsVerifier({ fetch: deps.snsFetch ?? createSnsFetch({ timeoutMs: config.HTTP_TIMEOUT_MS }), topicArns }) : null;
  app.post(
    "/webhooks/ses",
    {
      bodyLimit: BODY_LIMIT,
      onRequest: requires(topicArns, "Amazon SES", "SES_SNS_TOPIC_ARNS"),
      schema: {
        ...schema("Amazon SES bounces and complaints via SNS", "An SNS HTTPS subscription: confirms itself, verifies every message's signature and topic."),
        body: snsBody,
        response: { ...responses, 502: errorBody },
      },
    },
    async (req) => {
      const m = req.body;
      if (!sns) throw new AppError("WEBHOOK_DISABLED");
      await sns.verify(m);
      if (m.Type === "SubscriptionConfirmation") {
        const confirmed = await sns.confirm(m);
        if (confirmed) req.log.info({ topicArn: m.TopicArn }, "SNS subscription confirmed");
        else req.log.warn({ topicArn: m.TopicArn }, "SNS subscription could not be confirmed: SubscribeURL did not answer; request confirmation again in the SNS console");
        return { events: 0, matched: 0, confirmed };
      }
      if (m.Type === "UnsubscribeConfirmation") {
        req.log.warn({ topicArn: m.TopicArn }, "SNS says this endpoint was unsubscribed from the topic: SES bounces no longer arrive");
        return { events: 0, matched: 0 };
      }
      return record(req, "ses", sesEvents(parseSesNotification(m.Message)));
    },
  );

  const postmarkPassword = config.POSTMARK_WEBHOOK_PASSWORD;
  app.post(
    "/webhooks/postmark",
    {
      bodyLimit: BODY_LIMIT,
      onRequest: [
        requires(postmarkPassword, "Postmark", "POSTMARK_WEBHOOK_PASSWORD"),
        async (req: FastifyRequest, reply: FastifyReply) => {
          try {
            verifyPostmark(req.headers, config.POSTMARK_WEBHOOK_USER, postmarkPassword ?? "");
          } catch (err) {
            reply.header("www-authenticate", 'Basic realm="paperboy webhooks"');
            throw err;
          }
        },
      ],
      schema: { ...schema("Postmark bounce and spam-complaint webhooks", "Basic auth in the webhook URL, or an X-Webhook-Token custom header."), body: postmarkBody },
    },
    async (req) => record(req, "postmark", postmarkEvents(req.body)),
  );

  const sendgridKey = config.SENDGRID_WEBHOOK_PUBLIC_KEY ? sendgridPublicKey(config.SENDGRID_WEBHOOK_PUBLIC_KEY) : undefined;
  app.post(
    "/webhooks/sendgrid",
    {
      bodyLimit: BODY_LIMIT,
      onRequest: requires(sendgridKey, "SendGrid", "SENDGRID_WEBHOOK_PUBLIC_KEY"),
      preValidation: async (req) => {
        if (sendgridKey) verifySendgrid(req.headers, raw(req), sendgridKey);
      },
      schema: { ...schema("SendGrid Event Webhook (signed)", "A batch of events, verified with the Signed Event Webhook's ECDSA key."), body: sendgridBody },
    },
    async (req) => record(req, "sendgrid", sendgridEvents(req.body)),
  );

  const mailgunKey = config.MAILGUN_WEBHOOK_SIGNING_KEY;
  app.post(
    "/webhooks/mailgun",
    {
      bodyLimit: BODY_LIMIT,
      onRequest: requires(mailgunKey, "Mailgun", "MAILGUN_WEBHOOK_SIGNING_KEY"),
      schema: { ...schema("Mailgun failed and complained webhooks", "JSON webhooks; the signature object is checked with the webhook signing key."), body: mailgunBody },
    },
    async (req) => {
      const token = verifyMailgun(req.body, mailgunKey ?? "");
      return record(req, "mailgun", mailgunEvents(req.body), token);
    },
  );

  const resendSecret = config.RESEND_WEBHOOK_SECRET;
  app.post(
    "/webhooks/resend",
    {
      bodyLimit: BODY_LIMIT,
      onRequest: requires(resendSecret, "Resend", "RESEND_WEBHOOK_SECRET"),
      preValidation: async (req) => {
        if (resendSecret) verifyResend(req.headers, raw(req), resendSecret);
      },
      schema: { ...schema("Resend email.bounced and email.complained webhooks", "Svix-signed (svix-id, svix-timestamp, svix-signature)."), body: resendBody },
    },
    async (req) => record(req, "resend", resendEvents(req.body)),
  );
};

import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError } from "../../errors.js";
import { fieldErrors, preferencesPatchSchema, signupSchema, type FieldError } from "../../subscribers/preferences.js";
import type { PreferenceField, Subscriber, SubscriberService } from "../../subscribers/service.js";
import { nextSend } from "../../digests/schedule.js";
import type { SafeHtml } from "../html.js";
import { atInZone, hourOfDay } from "../pages/times.js";
import {
  actionPage,
  checkInboxPage,
  managePage,
  signupPage,
  unsubscribedPage,
  welcomePage,
  type FormValues,
} from "../pages/subscribers.js";
import type { AppDeps } from "../deps.js";
import { errorBody, tokenQuery } from "../schemas.js";
import { revokeFeed, sentDigests } from "../../subscribers/feed.js";
import { links, type LinkContext } from "../../subscribers/links.js";
import { archiveSection } from "../pages/archive.js";
import { votesSection } from "../pages/feedback.js";
import { canAddTopic, removeVote, suggestedTopics, votesOf } from "../../subscribers/votes.js";
import { normalizeTopic, parseTopicList } from "../../subscribers/topics.js";

/** The one answer to every signup, whatever we knew about the address (no enumeration). */
export const SIGNUP_ACCEPTED = {
  status: "accepted",
  message: "Thanks! If this address can receive our email, a confirmation link is on its way. Open it to start your digest.",
} as const;
const SIGNUP_ACCEPTED_MESSAGE = SIGNUP_ACCEPTED.message;

const tokenForm = z.object({ token: z.string().max(512).optional() });
/** After a save, pause or resume the browser is redirected back here, saying what happened. */
const manageQuery = tokenQuery.extend({
  saved: z.string().max(300).optional(),
  done: z.enum(["paused", "resumed", "feed"]).optional(),
});
const PREFERENCE_FIELDS = new Set<string>(Object.keys(preferencesPatchSchema.shape));
/** What the manage page says after a pause, a resume or a new feed link redirected back to it. */
const DONE_NOTICES = {
  paused: "Paused: no digests until you resume.",
  resumed: "Resumed: your next digest is shown below.",
  feed: "Your old feed link no longer works. The new one is under “Your Atom feed” below.",
} as const;
/**
 * When the first digest comes, by the rule the planner follows: at the first hourly plan
 * once the send hour has come on a day that starts a period, so today within the hour
 * if that hour has already passed. Said in the subscriber's own time.
 */
function firstDigestWords(s: Subscriber, topics: readonly string[], now: Date): string {
  const schedule = { timezone: s.timezone, sendHour: s.sendHour, frequency: s.frequency, weekday: s.weekday };
  const first = nextSend(schedule, now, () => false);
  const rhythm =
    s.frequency === "daily" ? `every day at ${hourOfDay(s.sendHour)}` : `every ${WEEKDAY_NAMES[s.weekday - 1] ?? "week"} at ${hourOfDay(s.sendHour)}`;
  const when = first.dueNow ? `within the hour (your send time today, ${hourOfDay(s.sendHour)}, has passed)` : atInZone(first.at, s.timezone);
  // A trending subscriber follows no topics; a weekly one is skipped for a week, not a day.
  const nothing = topics.length === 0 ? "there are no new trending papers" : "nothing new matches your topics";
  const quiet = s.sendWhenEmpty ? "" : ` When ${nothing}, no email is sent that ${s.frequency === "weekly" ? "week" : "day"}.`;
  return `Your first digest comes ${when}, then ${rhythm}, your time (${s.timezone}).${quiet}`;
}
const WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

const manageUrl = (token: string, extra: Record<string, string>) => `/manage?${new URLSearchParams({ token, ...extra }).toString()}`;
/** What @fastify/formbody gives for a form: strings, or arrays of strings for repeated names. */
const formBody = z.record(z.string(), z.union([z.string(), z.array(z.string())]));
type Form = z.infer<typeof formBody>;

const htmlPage = { page: true } as const;

/** The subscriber pages that need no token; every other one may be cached by nobody. */
const PUBLIC_PAGES = new Set(["/", "/subscribe", "/check-inbox"]);

function requireToken(token: string | undefined): string {
  if (!token) throw new AppError("INVALID_TOKEN");
  return token;
}

function one(form: Form, name: string): string | undefined {
  const v = form[name];
  return Array.isArray(v) ? v[0] : v;
}

function formValues(form: Form): FormValues {
  const checked = (name: string) => one(form, name) === "on" || one(form, name) === "true";
  const v: FormValues = { sendWhenEmpty: checked("sendWhenEmpty"), addTrending: checked("addTrending") };
  for (const key of ["email", "topics", "frequency", "weekday", "sendHour", "timezone", "maxPapers"] as const) {
    const value = one(form, key);
    if (value !== undefined) v[key] = value;
  }
  return v;
}

/** A form's whole number as a person types it (digits only): `0x10`, `1e1` or `7.5` are not numbers here (NaN, which the schema refuses). */
const num = (s: string | undefined) => (s === undefined || s.trim() === "" ? undefined : /^\s*\d{1,9}\s*$/.test(s) ? Number(s) : Number.NaN);

/** The form's fields in the API's shape, so both are checked by the same schema. */
function preferenceInput(v: FormValues) {
  return {
    topics: parseTopicList(v.topics),
    frequency: v.frequency,
    weekday: num(v.weekday),
    sendHour: num(v.sendHour),
    timezone: v.timezone,
    maxPapers: num(v.maxPapers),
    sendWhenEmpty: v.sendWhenEmpty ?? false,
    addTrending: v.addTrending ?? false,
  };
}

/** A refusal the person can fix on the form; anything else propagates to the error handler. */
function asFieldErrors(err: unknown): FieldError[] {
  if (err instanceof AppError && err.code === "VALIDATION") return [{ field: err.field ?? "form", message: err.message }];
  throw err;
}

/** Refuses too many signups for one address, whoever sends them. */
export type AddressGuard = (email: string) => Promise<void>;

export interface SubscriberRouteOptions {
  deps: AppDeps;
  service: SubscriberService;
  guardAddress: AddressGuard;
  /** Per-IP limit for the signup routes, in @fastify/rate-limit's route config shape. */
  signupRateLimit: { max: number; timeWindow: number };
  /** Fills the manage page's "Your digest" section (last digest, next send, last ingest run). */
  manageStatus?: (s: Subscriber) => Promise<SafeHtml | undefined>;
}

/** RFC 8058 one-click unsubscribe. */
const oneClickRoutes: FastifyPluginAsyncZod<SubscriberRouteOptions> = async (app, { service }) => {
  // Mail providers post `List-Unsubscribe=One-Click` as a form or as multipart/form-data.
  // The token alone authorises, so any other body is read (up to a limit) and ignored,
  // never parsed: a truncated or malformed body cannot fail the unsubscribe. That holds
  // for the types the app parses elsewhere too (JSON, forms): their parsers are dropped here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: 4096 }, (_req, _body, done) => done(null, {}));

  app.post(
    "/unsubscribe/one-click",
    {
      schema: {
        tags: ["subscriptions"],
        summary: "RFC 8058 one-click unsubscribe (idempotent, always 200 for a valid token)",
        querystring: tokenQuery,
        body: z.unknown(),
        response: {
          200: z.object({ status: z.literal("unsubscribed") }),
          403: errorBody,
        },
      },
    },
    async (req) => {
      await service.unsubscribe(requireToken(req.query.token), "unsubscribe", "one-click");
      return { status: "unsubscribed" as const };
    },
  );
};

export const subscriberPageRoutes: FastifyPluginAsyncZod<SubscriberRouteOptions> = async (app, opts) => {
  const { service, guardAddress, signupRateLimit } = opts;

  const linkCtx: LinkContext = { publicUrl: opts.deps.config.PUBLIC_URL, secret: opts.deps.config.TOKEN_SECRET };

  async function renderManage(token: string, s: Subscriber, extra: Partial<Parameters<typeof managePage>[0]> = {}) {
    const preferences = await service.preferences(s);
    const status = opts.manageStatus ? await opts.manageStatus(s) : undefined;
    const sent = await sentDigests(opts.deps.db, s.id);
    const archive = archiveSection({
      token,
      frequency: s.frequency,
      feedUrl: links.feed(linkCtx, s),
      items: sent.map((d) => ({ ...d, viewUrl: links.viewDigest(linkCtx, s, d.id) })),
    });
    const [recent, suggestions] = await Promise.all([votesOf(opts.deps.db, s.id), suggestedTopics(opts.deps.db, s.id)]);
    const votes = votesSection({ token, votes: recent, suggestions, canAddTopic: canAddTopic(preferences.topics.length) });
    return managePage({ token, preferences, archive, votes, ...(status ? { status } : {}), ...extra });
  }

  // The full form. `/` is the Daily Papers page, whose one-field box posts here too;
  // `?topics=` pre-fills the form ("subscribe to this search").
  const prefill = z.object({ topics: z.string().max(2000).optional(), email: z.string().max(320).optional() });
  app.get("/subscribe", { schema: { hide: true, querystring: prefill }, config: htmlPage }, (req, reply) => {
    const values: FormValues = {};
    if (req.query.topics !== undefined) values.topics = req.query.topics;
    if (req.query.email !== undefined) values.email = req.query.email;
    return reply.html(signupPage(values));
  });

  // POST / is where the form posted before the Daily Papers page took `/`: old pages keep working.
  for (const path of ["/subscribe", "/"]) {
    app.post(
      path,
      { schema: { hide: true, body: formBody }, config: { ...htmlPage, rateLimit: signupRateLimit } },
      async (req, reply) => {
        const values = formValues(req.body);
        const parsed = signupSchema.safeParse({ email: values.email ?? "", ...preferenceInput(values) });
        let errors: FieldError[] = parsed.success ? [] : fieldErrors(parsed.error);
        if (parsed.success) {
          await guardAddress(parsed.data.email);
          try {
            await service.signup(parsed.data, { ip: req.ip, userAgent: req.headers["user-agent"] ?? null });
          } catch (err) {
            errors = asFieldErrors(err);
          }
        }
        if (errors.length > 0) return reply.code(400).html(signupPage(values, errors));
        return reply.html(checkInboxPage(SIGNUP_ACCEPTED_MESSAGE));
      },
    );
  }

  app.get("/check-inbox", { schema: { hide: true }, config: htmlPage }, (_req, reply) =>
    reply.html(checkInboxPage(SIGNUP_ACCEPTED_MESSAGE)),
  );

  // Every page reached with a token carries it (in its URL or its forms): never kept by a
  // shared cache or the browser's back/forward store.
  app.addHook("onRequest", async (req, reply) => {
    if (!PUBLIC_PAGES.has(req.routeOptions.url ?? "")) reply.header("cache-control", "no-store");
  });

  // A link from an email only shows a page with one button: mail scanners follow links,
  // so a GET never changes anything; the button POSTs. The List-Unsubscribe URL
  // (/unsubscribe/one-click) opened in a browser shows the same unsubscribe page.
  const buttonPages = [
    { path: "/confirm", action: "/confirm", purpose: "confirm", title: "Confirm your subscription", text: "One more step: press the button to start receiving your paper digest.", button: "Confirm my subscription" },
    { path: "/unsubscribe", action: "/unsubscribe", purpose: "unsubscribe", title: "Unsubscribe", text: "Press the button and paperboy stops emailing you, starting now.", button: "Unsubscribe" },
    { path: "/unsubscribe/one-click", action: "/unsubscribe", purpose: "unsubscribe", title: "Unsubscribe", text: "Press the button and paperboy stops emailing you, starting now.", button: "Unsubscribe" },
  ] as const;
  for (const page of buttonPages) {
    app.get(page.path, { schema: { hide: true, querystring: tokenQuery }, config: htmlPage }, async (req, reply) => {
      const token = requireToken(req.query.token);
      const s = await service.check(token, page.purpose);
      if (page.purpose === "unsubscribe" && s.status !== "active" && s.status !== "pending") {
        return reply.html(unsubscribedPage({ token, alreadyWasUnsubscribed: true }));
      }
      return reply.html(actionPage({ title: page.title, text: page.text, action: page.action, token, button: page.button }));
    });
  }

  app.post("/confirm", { schema: { hide: true, body: tokenForm }, config: htmlPage }, async (req, reply) => {
    const { subscriber, topics } = await service.confirm(requireToken(req.body.token), req.ip);
    return reply.html(
      welcomePage({
        title: "You're subscribed",
        intro: `Your subscription is confirmed. ${firstDigestWords(subscriber, topics, new Date())}`,
        topics,
        manageUrl: service.links.manage(subscriber),
      }),
    );
  });

  app.get("/manage", { schema: { hide: true, querystring: manageQuery }, config: htmlPage }, async (req, reply) => {
    const token = requireToken(req.query.token);
    const s = await service.check(token, "manage");
    const { saved, done } = req.query;
    const extra: Partial<Parameters<typeof managePage>[0]> = {};
    if (saved !== undefined) extra.changed = saved.split(",").filter((f): f is PreferenceField => PREFERENCE_FIELDS.has(f));
    if (done) extra.notice = DONE_NOTICES[done];
    return reply.html(await renderManage(token, s, extra));
  });

  app.post("/manage", { schema: { hide: true, body: formBody }, config: htmlPage }, async (req, reply) => {
    const token = requireToken(one(req.body, "token"));
    const s = await service.check(token, "manage");
    const values = formValues(req.body);
    const parsed = preferencesPatchSchema.safeParse(preferenceInput(values));
    let errors: FieldError[] = parsed.success ? [] : fieldErrors(parsed.error);
    if (parsed.success) {
      try {
        const { changed } = await service.update(token, parsed.data);
        // Post/Redirect/Get: a refresh of the page shown after saving does not post again.
        return reply.redirect(manageUrl(token, { saved: changed.join(",") }), 303);
      } catch (err) {
        errors = asFieldErrors(err);
      }
    }
    return reply.code(400).html(await renderManage(token, s, { values, errors }));
  });

  for (const [path, paused] of [["/manage/pause", true], ["/manage/resume", false]] as const) {
    app.post(path, { schema: { hide: true, body: tokenForm }, config: htmlPage }, async (req, reply) => {
      const token = requireToken(req.body.token);
      await service.update(token, { paused });
      return reply.redirect(manageUrl(token, { done: paused ? "paused" : "resumed" }), 303);
    });
  }

  // Redirected like a save: a refresh of the page shown after it must not replace the new link again.
  app.post("/manage/feed/revoke", { schema: { hide: true, body: tokenForm }, config: htmlPage }, async (req, reply) => {
    const token = requireToken(req.body.token);
    const s = await service.check(token, "manage");
    await revokeFeed(opts.deps.db, s.id);
    return reply.redirect(manageUrl(token, { done: "feed" }), 303);
  });

  // A suggested topic's one-click "Follow": the current topics plus this one, checked like the form.
  app.post("/manage/topics/add", { schema: { hide: true, body: formBody }, config: htmlPage }, async (req, reply) => {
    const token = requireToken(one(req.body, "token"));
    const s = await service.check(token, "manage");
    const topic = (one(req.body, "topic") ?? "").trim();
    const before = (await service.preferences(s)).topics;
    if (before.some((t) => normalizeTopic(t) === normalizeTopic(topic))) {
      return reply.html(await renderManage(token, s, { notice: `You already follow “${topic}”.` }));
    }
    const parsed = preferencesPatchSchema.safeParse({ topics: [...before, topic] });
    let errors: FieldError[] = parsed.success ? [] : fieldErrors(parsed.error);
    if (parsed.success) {
      try {
        const { subscriber, changed } = await service.update(token, parsed.data);
        const notice =
          before.length === 0
            ? `You now follow “${topic}”: your digest brings its matches instead of the trending papers (tick “also add the top trending papers” below to keep some).`
            : `You now follow “${topic}”.`;
        return reply.html(await renderManage(token, subscriber, { changed, notice }));
      } catch (err) {
        errors = asFieldErrors(err);
      }
    }
    const message = errors.map((e) => e.message).join(" ");
    return reply.code(400).html(await renderManage(token, s, { notice: `The topic “${topic.slice(0, 100)}” was not added: ${message}` }));
  });

  app.post("/manage/votes/undo", { schema: { hide: true, body: formBody }, config: htmlPage }, async (req, reply) => {
    const token = requireToken(one(req.body, "token"));
    const s = await service.check(token, "manage");
    const paper = one(req.body, "paper") ?? "";
    // The list's Undo buttons name a paper by its id; anything else is a broken form, not "no vote".
    if (!/^[1-9][0-9]{0,15}$/.test(paper) || !Number.isSafeInteger(Number(paper))) {
      return reply.code(400).html(await renderManage(token, s, { notice: "No vote was removed: the form did not name a paper." }));
    }
    const removed = await removeVote(opts.deps.db, s.id, Number(paper));
    return reply.html(await renderManage(token, s, { notice: removed ? "Vote removed." : "There was no vote to remove." }));
  });

  app.get("/manage/data", { schema: { hide: true, querystring: tokenQuery }, config: htmlPage }, async (req, reply) => {
    const s = await service.check(requireToken(req.query.token), "manage");
    const data = await service.exportData(s);
    return reply
      .type("application/json; charset=utf-8")
      .header("content-disposition", 'attachment; filename="paperboy-my-data.json"')
      .header("cache-control", "no-store")
      .send(JSON.stringify(data, null, 2));
  });

  // The unsubscribe button of an email's page and of the manage page. The result page
  // offers to resubscribe with an unsubscribe-purpose token either way.
  for (const [path, purpose] of [["/unsubscribe", "unsubscribe"], ["/manage/unsubscribe", "manage"]] as const) {
    app.post(path, { schema: { hide: true, body: tokenForm }, config: htmlPage }, async (req, reply) => {
      const token = requireToken(req.body.token);
      const before = await service.check(token, purpose);
      const s = await service.unsubscribe(token, purpose, "link");
      return reply.html(unsubscribedPage({ token: service.tokenFor(s, "unsubscribe"), alreadyWasUnsubscribed: before.status !== "active" && before.status !== "pending" }));
    });
  }

  app.post("/resubscribe", { schema: { hide: true, body: tokenForm }, config: htmlPage }, async (req, reply) => {
    const { subscriber, topics, needsConfirmation } = await service.resubscribe(requireToken(req.body.token));
    if (needsConfirmation) return reply.html(checkInboxPage("Welcome back! Confirm your address with the link we just emailed you."));
    return reply.html(
      welcomePage({
        title: "Welcome back",
        intro:
          subscriber.status !== "active"
            ? "Your subscription cannot be restarted from here."
            : subscriber.pausedAt
              ? // Resubscribing does not resume: without this, "subscribed again" promises digests that never come.
                "You are subscribed again, with the same topics and schedule as before. Your digests are still paused, as you left them: resume them from the manage page."
              : "You are subscribed again, with the same topics and schedule as before.",
        topics,
        manageUrl: service.links.manage(subscriber),
      }),
    );
  });

  await app.register(oneClickRoutes, opts);
};

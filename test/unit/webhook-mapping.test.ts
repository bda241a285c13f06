import { describe, expect, it } from "vitest";
import { mailgunEvents, mailgunBody } from "../../src/ops/webhooks/mailgun.js";
import { postmarkBody, postmarkEvents } from "../../src/ops/webhooks/postmark.js";
import { resendBody, resendEvents } from "../../src/ops/webhooks/resend.js";
import { sendgridBody, sendgridEvents } from "../../src/ops/webhooks/sendgrid.js";
import { parseSesNotification, sesEvents, snsUrl } from "../../src/ops/webhooks/ses.js";

const kinds = (evs: { type: string; permanent: boolean }[]) => evs.map((e) => `${e.type}:${e.permanent ? "hard" : "soft"}`);

describe("provider payloads → bounces and complaints", () => {
  it("Postmark: deactivated addresses are hard, auto-replies and list requests are not bounces", () => {
    const pm = (o: object) => kinds(postmarkEvents(postmarkBody.parse({ RecordType: "Bounce", Email: "a@example.org", ...o })));
    expect(pm({ Type: "HardBounce" })).toEqual(["bounce:hard"]);
    expect(pm({ Type: "Transient" })).toEqual(["bounce:soft"]);
    expect(pm({ Type: "SoftBounce", Inactive: true })).toEqual(["bounce:hard"]);
    expect(pm({ Type: "AutoResponder" })).toEqual([]);
    expect(pm({ Type: "Unsubscribe" })).toEqual([]);
    expect(kinds(postmarkEvents(postmarkBody.parse({ RecordType: "Delivery", Email: "a@example.org" })))).toEqual([]);
  });

  it("SendGrid: drops for a bounced or invalid address are hard, other drops and deferrals are nothing", () => {
    const sg = (o: object) => kinds(sendgridEvents(sendgridBody.parse([{ email: "a@example.org", ...o }])));
    expect(sg({ event: "dropped", reason: "Bounced Address" })).toEqual(["bounce:hard"]);
    expect(sg({ event: "dropped", reason: "Invalid" })).toEqual(["bounce:hard"]);
    expect(sg({ event: "dropped", reason: "Spam Reporting Address" })).toEqual(["complaint:hard"]);
    expect(sg({ event: "dropped", reason: "Unsubscribed Address" })).toEqual([]);
    expect(sg({ event: "deferred", response: "451 later" })).toEqual([]);
    expect(sg({ event: "bounce" })).toEqual(["bounce:hard"]);
  });

  it("Mailgun and Resend: only failures and complaints count; a Resend bounce that is not Permanent is soft", () => {
    const sig = { timestamp: "1", token: "t", signature: "s" };
    expect(kinds(mailgunEvents(mailgunBody.parse({ signature: sig, "event-data": { event: "delivered", recipient: "a@example.org" } })))).toEqual([]);
    expect(kinds(resendEvents(resendBody.parse({ type: "email.bounced", data: { to: "a@example.org", bounce: { type: "Transient" } } })))).toEqual(["bounce:soft"]);
    expect(kinds(resendEvents(resendBody.parse({ type: "email.bounced", data: { to: ["a@example.org", "b@example.org"] } })))).toEqual(["bounce:hard", "bounce:hard"]);
  });

  it("SES: a not-spam feedback report and delivery notifications are nothing; Undetermined bounces are soft", () => {
    const mail = { commonHeaders: { messageId: "<digest-9@paperboy.test>" } };
    expect(sesEvents(parseSesNotification(JSON.stringify({ notificationType: "Complaint", mail, complaint: { complainedRecipients: [{ emailAddress: "a@example.org" }], complaintFeedbackType: "not-spam" } })))).toEqual([]);
    expect(sesEvents(parseSesNotification(JSON.stringify({ notificationType: "Delivery", mail, delivery: { recipients: ["a@example.org"] } })))).toEqual([]);
    const undetermined = sesEvents(parseSesNotification(JSON.stringify({ eventType: "Bounce", mail, bounce: { bounceType: "Undetermined", bouncedRecipients: [{ emailAddress: "a@example.org" }] } })));
    expect(undetermined).toEqual([expect.objectContaining({ type: "bounce", permanent: false, messageId: "<digest-9@paperboy.test>", email: "a@example.org" })]);
  });

  it("SNS URLs: only https on sns.<region>.amazonaws.com(.cn)", () => {
    expect(snsUrl("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem")).not.toBeNull();
    expect(snsUrl("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem")).not.toBeNull();
    for (const bad of ["http://sns.us-east-1.amazonaws.com/x.pem", "https://sns.us-east-1.amazonaws.com.evil.test/x.pem", "https://snsXus-east-1.amazonaws.com/x.pem", "https://evil.test/x.pem", "not a url", "https://a:b@sns.us-east-1.amazonaws.com/x.pem"]) {
      expect(snsUrl(bad), bad).toBeNull();
    }
  });
});

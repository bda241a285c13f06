import { compileEmail } from "../mail/templates.js";
import type { Mailer } from "../mail/mailer.js";
import { links, type LinkContext } from "./links.js";

interface ConfirmEmail {
  topicList: string;
  confirmUrl: string;
  postalAddress: string;
}

export interface ImportConfirmationDeps {
  mailer: Mailer;
  links: LinkContext;
  postalAddress: string;
  mailDomain: string;
}

/**
 * The confirmation email for subscribers added by an import without --confirmed:
 * nothing is sent to them until they click. Compiled once; one call per subscriber.
 */
export async function createImportConfirmation(deps: ImportConfirmationDeps) {
  // The signup confirmation, which names the topics when it is given them.
  const template = await compileEmail<ConfirmEmail>("confirm");
  return async (s: { id: number; email: string; tokenVersion: number; topics: string[] }): Promise<void> => {
    const data: ConfirmEmail = {
      topicList: s.topics.join(", "),
      confirmUrl: links.confirm(deps.links, s),
      postalAddress: deps.postalAddress,
    };
    await deps.mailer.send({
      to: s.email,
      subject: "Confirm your paperboy subscription",
      html: template.html(data),
      text: template.text(data),
      messageId: `<confirm-${s.id}-v${s.tokenVersion}@${deps.mailDomain}>`,
    });
  };
}

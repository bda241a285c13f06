/**
 * The one writer of a digest's List-* headers: List-Id (RFC 2919), List-Unsubscribe
 * (RFC 2369) and List-Unsubscribe-Post (RFC 8058, one-click). Both send paths (the
 * MIME writer and nodemailer composing) take them from here, so they cannot drift.
 */
export interface ListHeaderSettings {
  /** A dot-atom such as digest.example.org. */
  listId: string;
  /** An address for mail clients that only offer mailto: unsubscribes. */
  mailto?: string | undefined;
}

export interface ListHeaders {
  /** The same for every digest: List-Id and List-Unsubscribe-Post. */
  readonly fixed: Readonly<Record<string, string>>;
  /** The per-subscriber List-Unsubscribe for a one-click URL. */
  unsubscribe(oneClickUrl: string): Record<string, string>;
  /** Both together, for a sender that writes every header per message. */
  all(oneClickUrl: string): Record<string, string>;
}

export function listHeaders(settings: ListHeaderSettings): ListHeaders {
  const fixed = { "List-Id": `paperboy <${settings.listId}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" };
  const mailto = settings.mailto ? `, <mailto:${settings.mailto}?subject=unsubscribe>` : "";
  const unsubscribe = (url: string) => ({ "List-Unsubscribe": `<${url}>${mailto}` });
  return { fixed, unsubscribe, all: (url) => ({ ...fixed, ...unsubscribe(url) }) };
}

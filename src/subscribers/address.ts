import { domainToASCII } from "node:url";

/**
 * Email addresses as people type them. The mailbox key is what abuse limits count:
 * one inbox whatever case or `+tag` it is written with. Storage keeps the address
 * as typed (the domain in its ASCII form).
 */

/** Lower case, and the local part without its `+tag` (ines+news@x → ines@x). */
export function mailboxKey(email: string): string {
  const e = email.trim().toLowerCase();
  const at = e.lastIndexOf("@");
  if (at <= 0) return e;
  const local = e.slice(0, at);
  const plus = local.indexOf("+");
  const base = plus > 0 ? local.slice(0, plus) : local;
  return `${base}${e.slice(at)}`;
}

const ASCII = /^[\x20-\x7e]*$/;

export type AddressProblem = "invalid" | "local-part";

/**
 * An address as we store and send it: an internationalised domain in its ASCII form
 * (ines@bücher.example → ines@xn--bcher-kva.example), everything else as typed.
 * A non-ASCII local part needs SMTPUTF8 end to end, which we cannot promise: refused.
 */
export function toSendableAddress(email: string): { address: string } | { problem: AddressProblem } {
  const at = email.lastIndexOf("@");
  if (at <= 0 || at === email.length - 1) return { problem: "invalid" };
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (!ASCII.test(local)) return { problem: "local-part" };
  if (ASCII.test(domain)) return { address: email };
  const ascii = domainToASCII(domain);
  return ascii ? { address: `${local}@${ascii}` } : { problem: "invalid" };
}

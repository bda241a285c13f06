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

/** Anything from users or sources that reaches a header loses CR, LF and other controls. */
export function headerSafe(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
}

/** Masks an address for logs: jane.doe@example.org → j***@example.org */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at < 1) return "***";
  return `${email[0] ?? ""}***${email.slice(at)}`;
}

// Credentials kept out of what people read: URLs with their password or token masked, and text (errors,
// log lines, dashboard frames) with known secrets and anything shaped like one replaced. Pure: no I/O.

/** what a masked secret reads as */
export const MASK = '***';

/** the longest text redactText walks (longer text is cut first: logs and errors are never that long) */
export const REDACT_TEXT_CHARS_MAX = 1_000_000;

/** a URL's userinfo: scheme://userinfo@ (userinfo without spaces, slashes or @) */
const URL_USERINFO_RE = /\b([a-z][a-z0-9+.-]{0,15}:\/\/)([^\s/@]{1,1024})@/gi;
/** an NKey seed: S, the key type (User, Account, Operator, Server/Node, Cluster, X-curve), then base32 */
const NKEY_SEED_RE = /\bS[UAONCX][A-Z2-7]{50,120}\b/g;

/** The userinfo part masked: `user:password` keeps the user, a lone token (or user) is masked whole. */
function maskUserinfo(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  return colon < 0 ? MASK : `${userinfo.slice(0, colon)}:${MASK}`;
}

/**
 * A NATS URL (or a comma-separated list of them) as it may be shown: `nats://u:secret@host` becomes
 * `nats://u:***@host`, `nats://token@host` becomes `nats://***@host`; a URL without credentials is
 * returned as it is.
 */
export function maskUrl(url: string): string {
  return url.replace(URL_USERINFO_RE, (_all, scheme: string, userinfo: string) => `${scheme}${maskUserinfo(userinfo)}@`);
}

/** The URL (or list) with its credentials removed: what a client connects to when they come separately. */
export function stripUrlCredentials(url: string): string {
  return url.replace(URL_USERINFO_RE, (_all, scheme: string) => scheme);
}

/**
 * Text as it may be shown: URLs' credentials masked, NKey seeds masked, and every one of `secrets`
 * (passwords, tokens, seeds read from files; shorter than 4 characters are left, they would mask
 * ordinary words) replaced by ***.
 */
export function redactText(text: string, secrets: Iterable<string> = []): string {
  let out = maskUrl(text.length > REDACT_TEXT_CHARS_MAX ? text.slice(0, REDACT_TEXT_CHARS_MAX) : text).replace(NKEY_SEED_RE, MASK);
  // longest first, so a secret that contains another is masked whole
  const known = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  for (const secret of known) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret && out.includes(encoded)) out = out.split(encoded).join(MASK);
  }
  return out;
}

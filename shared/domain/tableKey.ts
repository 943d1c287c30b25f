import { createHash } from "node:crypto";

/**
 * Table Storage keys may not contain `/ \ # ?` or control characters (U+0000–U+001F, U+007F–U+009F), and are at
 * most 1 KiB. Tracking ids and free-text ids can contain all of these, so every key is built here and nowhere else.
 * Escaping is percent-encoding of the forbidden characters plus `%` itself and `~` (our component separator), so it
 * is reversible and two different ids never share a key. Over-long ids keep a readable prefix and a hash.
 */
// Lone surrogates (in `u` mode the range matches only unpaired ones) have no UTF-8 form: the service fails on them.
// eslint-disable-next-line no-control-regex -- control characters are exactly what Table Storage forbids
const FORBIDDEN = /[/\\#?%~\u0000-\u001f\u007f-\u009f\ud800-\udfff]/gu;
const MAX_KEY_CHARS = 480;

export function escapeKey(value: string): string {
  const escaped = value.replace(FORBIDDEN, (ch) => {
    const code = ch.charCodeAt(0);
    return code > 0xff ? `%u${code.toString(16).toUpperCase()}` : `%${code.toString(16).toUpperCase().padStart(2, "0")}`;
  });
  if (escaped.length <= MAX_KEY_CHARS) return escaped;
  const hash = createHash("sha256").update(value).digest("hex").slice(0, 32);
  // Never cut a surrogate pair in half: a lone surrogate in a key fails the service call.
  return `${escaped.slice(0, MAX_KEY_CHARS - 36).replace(/[\ud800-\udbff]$/u, "")}%%h${hash}`;
}

/** Reverses `escapeKey` for keys that were not shortened. */
export function unescapeKey(key: string): string {
  return key.replace(/%(?:u([0-9A-F]{4})|([0-9A-F]{2}))/gu, (_m, wide: string | undefined, hex: string | undefined) => String.fromCharCode(parseInt(wide ?? hex ?? "", 16)));
}

/** Joins already meaningful parts into one key, escaping each (so `a~b` + `c` ≠ `a` + `b~c`). */
export function compositeKey(...parts: string[]): string {
  return parts.map(escapeKey).join("~");
}

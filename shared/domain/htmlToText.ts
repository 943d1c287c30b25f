import { decode } from "html-entities";

/**
 * Tags that end a line of text. Service Health `communication` and Graph `posts[].description.content` use `<p>`,
 * `<br>`, lists and tables; without a line break between blocks, "Summary of impact</p><p>Root cause" would run the
 * words together and the sentence splitting of the assessment would see one sentence.
 */
const BLOCK_TAG =
  /<\/?(?:p|div|br|li|ul|ol|tr|td|th|table|thead|tbody|h[1-6]|blockquote|pre|section|article|header|footer|hr)\b[^<>]*>/gi;
// `[^<>]*` rather than `[^>]*`: a tag never contains `<`, and without that bound an unclosed "<p<p<p…" made every
// match attempt scan to the end of the text (quadratic: 32 s for 250 KB, found by a test of hostile input).
const ANY_TAG = /<\/?[a-z][^<>]*>/gi;
const INVISIBLE_OPEN = /<(script|style|head)\b/gi;

/**
 * Removes `<!-- … -->` and `<script|style|head>…</…>` in one forward scan with indexOf, which stays linear even when
 * the closing part is missing (the rest of the text is then dropped: it is not text either).
 */
function removeInvisible(html: string): string {
  let out = "";
  let at = 0;
  const lower = html.toLowerCase();
  for (;;) {
    const comment = lower.indexOf("<!--", at);
    INVISIBLE_OPEN.lastIndex = at;
    const open = INVISIBLE_OPEN.exec(lower);
    const next = open && (comment < 0 || open.index < comment) ? open.index : comment;
    if (next < 0) return out + html.slice(at);
    out += html.slice(at, next);
    if (next === comment) {
      const close = lower.indexOf("-->", next + 4);
      if (close < 0) return out;
      at = close + 3;
    } else {
      const close = lower.indexOf(`</${open?.[1] ?? ""}`, next + 1);
      if (close < 0) return out;
      const end = lower.indexOf(">", close);
      if (end < 0) return out;
      at = end + 1;
    }
  }
}

/**
 * Plain text of an HTML fragment: block tags become line breaks, other tags vanish, entities are decoded, spaces
 * within a line are collapsed and blank lines are removed. Non-breaking spaces (`&nbsp;`, U+00A0) count as spaces.
 * Text that is not HTML passes through with only whitespace normalised, so it is safe on plain-text posts too.
 */
export function htmlToText(html: string): string {
  const withBreaks = removeInvisible(html).replace(BLOCK_TAG, "\n").replace(ANY_TAG, "");
  // Decode after removing tags, so an encoded "&lt;p&gt;" stays text instead of becoming a tag.
  const decoded = decode(withBreaks, { level: "html5" });
  return decoded
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/[\s\u00a0]+/g, " ").trim())
    .filter((line) => line.length > 0)
    .join("\n");
}

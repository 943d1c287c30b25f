import { decode } from "html-entities";

/**
 * Tags that end a line of text. Service Health `communication` and Graph `posts[].description.content` use `<p>`,
 * `<br>`, lists and tables; without a line break between blocks, "Summary of impact</p><p>Root cause" would run the
 * words together and the sentence splitting of the assessment would see one sentence.
 */
const BLOCK_TAG =
  /<\/?(?:p|div|br|li|ul|ol|tr|td|th|table|thead|tbody|h[1-6]|blockquote|pre|section|article|header|footer|hr)\b[^>]*>/gi;
/** Content that is never text. */
const INVISIBLE = /<(script|style|head)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;
const COMMENT = /<!--[\s\S]*?-->/g;
const ANY_TAG = /<\/?[a-z][^>]*>/gi;

/**
 * Plain text of an HTML fragment: block tags become line breaks, other tags vanish, entities are decoded, spaces
 * within a line are collapsed and blank lines are removed. Non-breaking spaces (`&nbsp;`, U+00A0) count as spaces.
 * Text that is not HTML passes through with only whitespace normalised, so it is safe on plain-text posts too.
 */
export function htmlToText(html: string): string {
  const withBreaks = html.replace(COMMENT, "").replace(INVISIBLE, "").replace(BLOCK_TAG, "\n").replace(ANY_TAG, "");
  // Decode after removing tags, so an encoded "&lt;p&gt;" stays text instead of becoming a tag.
  const decoded = decode(withBreaks, { level: "html5" });
  return decoded
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/[\s\u00a0]+/g, " ").trim())
    .filter((line) => line.length > 0)
    .join("\n");
}

import { describe, expect, it } from "vitest";
import { htmlToText } from "../../shared/domain/htmlToText.js";

describe("htmlToText on hostile or broken HTML", () => {
  it("drops comments and script/style blocks, and everything after one that is never closed", () => {
    expect(htmlToText("a<!-- x -->b<script>evil()</script>c<style>p{}</style>d")).toBe("abcd");
    expect(htmlToText("before<script>never closed <p>text")).toBe("before");
    expect(htmlToText("before<!-- never closed <p>text")).toBe("before");
  });

  it("keeps text around unclosed angle brackets instead of swallowing it", () => {
    expect(htmlToText("<p<p<p sign-in logs incomplete")).toBe("<p<p<p sign-in logs incomplete");
    expect(htmlToText("a < b and c > d")).toBe("a < b and c > d");
  });

  it("reads a large adversarial body (many unclosed tags) up to the first unclosed script", () => {
    const big = "<p<script<!--<a ".repeat(15_000);
    expect(htmlToText(big)).toBe("<p");
    expect(htmlToText(`ok${"<p".repeat(100_000)}`)).toBe(`ok${"<p".repeat(100_000)}`);
  });
});

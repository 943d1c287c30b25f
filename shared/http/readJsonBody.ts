import type { HttpRequest } from "@azure/functions";
import { ValidationError } from "../errors.js";

/** Largest body accepted on intake routes (a Service Health alert is a few KiB; a pasted PIR can be long). */
export const MAX_BODY_BYTES = 256 * 1024;

/**
 * Reads a JSON request body the careful way: content type first (415), then size (413, before and after reading,
 * since chunked requests carry no length), then JSON syntax (400). Returns the parsed value and the raw text.
 */
export async function readJsonBody(request: HttpRequest, maxBytes = MAX_BODY_BYTES): Promise<{ json: unknown; raw: string }> {
  const contentType = (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (contentType !== "application/json" && !/^application\/[a-z0-9.+-]*\+json$/.test(contentType)) {
    throw new ValidationError("Unsupported content type", [`content-type: expected application/json, got ${contentType || "none"}`], "unsupported-media-type", 415);
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw tooLarge(declared, maxBytes);
  const bytes = Buffer.from(await request.arrayBuffer());
  if (bytes.length > maxBytes) throw tooLarge(bytes.length, maxBytes);
  if (bytes.length === 0) throw new ValidationError("Empty body", ["(body): expected a JSON document"]);
  let raw: string;
  try {
    raw = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ValidationError("Body is not valid UTF-8", ["(body): not valid UTF-8"]);
  }
  try {
    return { json: JSON.parse(raw.replace(/^\uFEFF/, "")) as unknown, raw };
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : "unparseable";
    throw new ValidationError("Body is not valid JSON", [`(body): ${reason}`]);
  }
}

function tooLarge(size: number, max: number): ValidationError {
  return new ValidationError("Body too large", [`(body): ${size} bytes exceeds the limit of ${max} bytes`], "payload-too-large", 413);
}

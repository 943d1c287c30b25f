import { gunzipSync, gzipSync } from "node:zlib";

/**
 * Table Storage limits a binary property to 64 KiB and an entity to 1 MiB. Documents (a normalised notice, a raw
 * payload of up to 256 KiB) are stored gzip-compressed and split across numbered binary properties of one entity,
 * so writing them stays a single atomic operation (no separate blob that could be half-written).
 */
export const CHUNK_BYTES = 60 * 1024;
export const MAX_CHUNKS = 14; // 14 × 60 KiB = 840 KiB, inside the 1 MiB entity limit with room for the other properties.

export interface EncodeOptions {
  /**
   * Write every chunk slot below this as empty when the document needs fewer: a Merge leaves the properties it does
   * not name, so a document that shrank would otherwise keep its old chunks, which still count towards 1 MiB.
   */
  clearTo?: number;
}

export function encodeDocument(prefix: string, text: string, options: EncodeOptions = {}): Record<string, Uint8Array | number> {
  return encodeZipped(prefix, gzipSync(Buffer.from(text, "utf8")), options);
}

/** encodeDocument for text already gzip-compressed. */
export function encodeZipped(prefix: string, zipped: Buffer, options: EncodeOptions = {}): Record<string, Uint8Array | number> {
  const chunks = Math.ceil(zipped.length / CHUNK_BYTES) || 1;
  if (chunks > MAX_CHUNKS) throw new Error(`${prefix} is too large to store (${zipped.length} bytes compressed)`);
  const out: Record<string, Uint8Array | number> = { [`${prefix}Chunks`]: chunks };
  for (let i = 0; i < chunks; i++) {
    out[`${prefix}${i}`] = new Uint8Array(zipped.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
  }
  for (let i = chunks; i < (options.clearTo ?? 0); i++) out[`${prefix}${i}`] = new Uint8Array(0);
  return out;
}

/** No document under `prefix` (decodeDocument answers undefined), its chunk slots below `clearTo` emptied. */
export function clearDocument(prefix: string, clearTo: number): Record<string, Uint8Array | number> {
  const out: Record<string, Uint8Array | number> = { [`${prefix}Chunks`]: 0 };
  for (let i = 0; i < clearTo; i++) out[`${prefix}${i}`] = new Uint8Array(0);
  return out;
}

export function decodeDocument(prefix: string, entity: Record<string, unknown>): string | undefined {
  const count = entity[`${prefix}Chunks`];
  if (typeof count !== "number" || count < 1) return undefined;
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const part = entity[`${prefix}${i}`];
    if (!(part instanceof Uint8Array)) throw new Error(`${prefix}: chunk ${i} of ${count} is missing`);
    parts.push(Buffer.from(part));
  }
  return gunzipSync(Buffer.concat(parts)).toString("utf8");
}

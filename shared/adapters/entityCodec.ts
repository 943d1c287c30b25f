import { gunzipSync, gzipSync } from "node:zlib";

/**
 * Table Storage limits a binary property to 64 KiB and an entity to 1 MiB. Documents (a normalised notice, a raw
 * payload of up to 256 KiB) are stored gzip-compressed and split across numbered binary properties of one entity,
 * so writing them stays a single atomic operation (no separate blob that could be half-written).
 */
const CHUNK_BYTES = 60 * 1024;
const MAX_CHUNKS = 14; // 14 × 60 KiB = 840 KiB, inside the 1 MiB entity limit with room for the other properties.

export function encodeDocument(prefix: string, text: string): Record<string, Uint8Array | number> {
  const zipped = gzipSync(Buffer.from(text, "utf8"));
  const chunks = Math.ceil(zipped.length / CHUNK_BYTES) || 1;
  if (chunks > MAX_CHUNKS) throw new Error(`${prefix} is too large to store (${zipped.length} bytes compressed)`);
  const out: Record<string, Uint8Array | number> = { [`${prefix}Chunks`]: chunks };
  for (let i = 0; i < chunks; i++) {
    out[`${prefix}${i}`] = new Uint8Array(zipped.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
  }
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

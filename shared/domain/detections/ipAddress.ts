/**
 * IP addresses as the detectors compare them: parsed to bytes, grouped into networks (a prefix of the address) and
 * matched against CIDR prefixes. Hand-written because the domain imports nothing with I/O (`node:net` is a network
 * module) and only needs parsing, not sockets.
 */

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address; undefined when the text is neither. */
export function parseIp(text: string): Uint8Array | undefined {
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] ?? "";
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseHextets(text: string): number[] | undefined {
  if (text === "") return [];
  const out: number[] = [];
  for (const part of text.split(":")) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
    out.push(parseInt(part, 16));
  }
  return out;
}

function parseIpv6(input: string): Uint8Array | undefined {
  let text = input;
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hextets.
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = [((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0)];
    text = text.slice(0, lastColon + 1);
    if (text.endsWith(":") && !text.endsWith("::")) text = text.slice(0, -1);
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = parseHextets(halves[0] ?? "");
  const rest = halves.length === 2 ? parseHextets(halves[1] ?? "") : [];
  if (!head || !rest) return undefined;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 2 ? known > 7 : known !== 8) return undefined;
  const words = [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  // IPv4-mapped addresses (::ffff:a.b.c.d) are IPv4 addresses.
  if (out.subarray(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff) return out.slice(12);
  return out;
}

function masked(bytes: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    out[i] = (bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

function format(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return words.join(":");
}

/**
 * The network an address belongs to, as `address/bits` with the host bits cleared ("131.107.0.0/16"), or undefined
 * for text that is not an IP address.
 */
export function networkOf(ip: string, ipv4Bits: number, ipv6Bits: number): string | undefined {
  const bytes = parseIp(ip);
  if (!bytes) return undefined;
  const bits = bytes.length === 4 ? ipv4Bits : ipv6Bits;
  return `${format(masked(bytes, bits))}/${bits}`;
}

export interface Cidr {
  /** The network's bytes, host bits cleared. */
  bytes: Uint8Array;
  bits: number;
  text: string;
}

/** `a.b.c.d/n` or `x:y::/n` (a bare address is a /32 or /128); undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const bytes = parseIp(slash >= 0 ? text.slice(0, slash) : text);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  const bitsText = slash >= 0 ? text.slice(slash + 1) : String(max);
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > max) return undefined;
  return { bytes: masked(bytes, bits), bits, text };
}

/** Whether the parsed address lies in the network. */
export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  if (ip.length !== cidr.bytes.length) return false;
  const m = masked(ip, cidr.bits);
  for (let i = 0; i < m.length; i++) if (m[i] !== cidr.bytes[i]) return false;
  return true;
}

import fc from "fast-check";
import type { HttpResponseInit } from "@azure/functions";
import { expect } from "vitest";
import { AZURITE_KEY } from "../../local/azurite.js";
import type { Services } from "../../shared/runtime.js";

/** One seed for every fuzz property, so a failure is reproducible (fast-check prints the path to replay it). */
export const SEED = 20261127;

/** fast-check options: fixed seed, no noisy output on success. */
export function runs(numRuns: number): { seed: number; numRuns: number } {
  return { seed: SEED, numRuns };
}

/** Cases each property ran, for the report (printed once per file by `reportCases`). */
export const caseCounts = new Map<string, number>();
export function counted<A extends unknown[]>(name: string, body: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    caseCounts.set(name, (caseCounts.get(name) ?? 0) + 1);
    await body(...args);
  };
}

/** Characters that break table keys, URLs or OData literals, and other troublemakers. */
const KEY_BREAKERS = [
  "/", "\\", "#", "?", "'", "''", "%", "%27", "~", "\u0000", "\u0001", "\u001f", "\u007f", "\u0085", "\u009f", "\n", "\r", "\t",
  " ", "é", "Ü", "✓", "😀", "\ud800", "\udfff", "\ufeff", "\u202e", "a", "Z", "0", "-", "\"", "eq", " or 1 eq 1 or ", ")", "(", "PartitionKey", "RowKey",
];

/** Strings made of key-breaking pieces (including lone surrogates, NUL and control characters). */
export function keyBreakingString(maxLength = 24): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...KEY_BREAKERS), minLength: 1, maxLength });
}

/** Timestamps at and past the edges of what ISO 8601 parsing accepts. */
export const EDGE_TIMESTAMPS = [
  "2024-09-02T23:00:00Z", "2024-09-02", "2024-09-02T23:00:00.1234567+02:00", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-12:00",
  "0000-01-01T00:00:00+14:00", "0000-01-01", "2024-02-30T00:00:00Z", "2024-13-01", "2024-09-02T24:00:00Z", "", " ", "yesterday",
  "2024-09-02T23:00:00", "2024-09-02 23:00", "1970-01-01T00:00:00Z",
];

/** Values of every JSON type plus the awkward ones, for replacing a field. */
export function awkwardValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    keyBreakingString(40),
    fc.constantFrom(...EDGE_TIMESTAMPS),
    fc.constantFrom(null, true, false, 0, -1, 1e308, -0, "", [], {}, "True", "false", "[not json", "[]", "[{\"ServiceName\":1}]"),
    fc.integer({ min: 400, max: 700 }).map((n) => "i".repeat(n)),
    fc.constantFrom("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmdXp6In0.c2lnbmF0dXJl", `AccountKey=${AZURITE_KEY}`),
  );
}

export type Mutation =
  | { kind: "delete"; at: number }
  | { kind: "replace"; at: number; value: unknown }
  | { kind: "retype"; at: number }
  | { kind: "huge"; at: number; length: number; char: string }
  | { kind: "deep"; at: number; depth: number; shape: "array" | "object" }
  | { kind: "protoKey"; at: number; key: string; value: unknown };

/** A few random mutations of a real payload: delete, replace, retype, huge strings, deep nesting, prototype keys. */
export function mutations(maxCount = 4): fc.Arbitrary<Mutation[]> {
  const at = fc.nat();
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("delete" as const), at }) },
    { weight: 6, arbitrary: fc.record({ kind: fc.constant("replace" as const), at, value: awkwardValue() }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("retype" as const), at }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("huge" as const), at, length: fc.integer({ min: 1000, max: 300 * 1024 }), char: fc.constantFrom("x", "é", "😀", "\u0000", "<p>") }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("deep" as const), at, depth: fc.integer({ min: 1000, max: 3000 }), shape: fc.constantFrom("array" as const, "object" as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("protoKey" as const), at, key: fc.constantFrom("__proto__", "constructor", "prototype", "hasOwnProperty", "toString"), value: fc.jsonValue({ maxDepth: 2 }) }) },
  );
  return fc.array(mutation, { minLength: 1, maxLength: maxCount });
}

type Path = (string | number)[];

function allPaths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (prefix.length > 40) return out; // deep nesting planted by an earlier mutation: its top levels are enough
  if (Array.isArray(value)) {
    value.forEach((v, i) => { out.push([...prefix, i]); allPaths(v, [...prefix, i], out); });
  } else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) { out.push([...prefix, k]); allPaths(v, [...prefix, k], out); }
  }
  return out;
}

function nested(depth: number, shape: "array" | "object"): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = shape === "array" ? [v] : { a: v };
  return v;
}

function retyped(value: unknown): unknown {
  if (typeof value === "string") return value.length > 0 && !Number.isNaN(Number(value)) ? Number(value) : [value];
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return value ? "True" : 0;
  if (value === null) return {};
  if (Array.isArray(value)) return value.length > 0 ? value[0] : {};
  return JSON.stringify(value);
}

/** Applies mutations to a deep copy of `base` (own-property writes only, so `__proto__` becomes a key, not a prototype). */
export function mutate(base: unknown, list: Mutation[]): unknown {
  let doc: unknown = structuredClone(base);
  for (const m of list) {
    const paths = allPaths(doc);
    if (m.kind === "protoKey") {
      const objects = [[] as Path, ...paths].filter((p) => { const v = get(doc, p); return typeof v === "object" && v !== null && !Array.isArray(v); });
      const target = objects[m.at % Math.max(objects.length, 1)];
      const obj = target ? get(doc, target) : undefined;
      if (typeof obj === "object" && obj !== null) Object.defineProperty(obj, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
      continue;
    }
    const path = paths[m.at % Math.max(paths.length, 1)];
    if (!path || path.length === 0) {
      doc = m.kind === "replace" ? m.value : doc;
      continue;
    }
    const parent = get(doc, path.slice(0, -1)) as Record<string | number, unknown> | unknown[];
    const key = path[path.length - 1] as string | number;
    const current = (parent as Record<string | number, unknown>)[key];
    const set = (v: unknown): void => { Object.defineProperty(parent, key, { value: v, enumerable: true, writable: true, configurable: true }); };
    switch (m.kind) {
      case "delete":
        if (Array.isArray(parent) && typeof key === "number") parent.splice(key, 1);
        else Reflect.deleteProperty(parent, key);
        break;
      case "replace": set(m.value); break;
      case "retype": set(retyped(current)); break;
      case "huge": set(m.char.repeat(Math.ceil(m.length / m.char.length))); break;
      case "deep": set(nested(m.depth, m.shape)); break;
    }
  }
  return doc;
}

function get(doc: unknown, path: Path): unknown {
  let v = doc;
  for (const k of path) v = (v as Record<string | number, unknown>)[k];
  return v;
}

/** Counts calls of the write methods of a port, passing every call through. */
export function spyWrites<T extends object>(target: T, writes: readonly string[], counter: { writes: number }): T {
  return new Proxy(target, {
    get(t, property, receiver) {
      const value: unknown = Reflect.get(t, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]): unknown => {
        if (typeof property === "string" && writes.includes(property)) counter.writes++;
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

/** Services whose storage writes are counted (reads and writes still go to Azurite). */
export function spiedServices(services: Services): { services: Services; counter: { writes: number } } {
  const counter = { writes: 0 };
  return {
    counter,
    services: {
      ...services,
      notices: spyWrites(services.notices, ["storeRevision", "markProcessed", "reserveContributionKeys"], counter),
      queue: spyWrites(services.queue, ["send"], counter),
      tenants: spyWrites(services.tenants, ["putMany"], counter),
      ledger: spyWrites(services.ledger, ["putContribution", "deleteContribution", "replaceWindows"], counter),
      controls: spyWrites(services.controls, ["plan"], counter),
    },
  };
}

/** Asserts an RFC 9457 answer with a 4xx status; returns the status. */
export function expectClientProblem(response: HttpResponseInit): number {
  const status = response.status ?? 200;
  const shown = typeof response.body === "string" ? response.body.slice(0, 300) : typeof response.body;
  expect(status, shown).toBeGreaterThanOrEqual(400);
  expect(status, shown).toBeLessThan(500);
  expect((response.headers as Record<string, string> | undefined)?.["content-type"]).toBe("application/problem+json");
  const body = JSON.parse(response.body as string) as { type?: unknown; title?: unknown; status?: unknown };
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe("string");
  expect(String(body.type)).toMatch(/^urn:blindwindow:problem:[a-z-]+$/);
  return status;
}

/** Lines that would leak a secret or a raw sign-in record. */
export function leakingLines(lines: readonly string[]): string[] {
  return lines.filter((line) =>
    line.includes(AZURITE_KEY) ||
    /Bearer\s+[A-Za-z0-9._~+/-]/.test(line) ||
    /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/.test(line) ||
    /AccountKey=(?!\[redacted\])/.test(line) ||
    (/userPrincipalName\\*"\s*:/.test(line) && /ipAddress\\*"\s*:/.test(line)),
  );
}

/** A real-looking raw sign-in record (Graph `signIn`), to plant in inputs and then look for in the logs. */
export const SIGN_IN_RECORD = {
  id: "66ea54eb-6301-4ee5-be62-ff5a759b0100",
  createdDateTime: "2024-09-05T12:00:00Z",
  userDisplayName: "Alice Fuzz",
  userPrincipalName: "alice.fuzz@contoso.example",
  ipAddress: "203.0.113.77",
  appDisplayName: "Graph Explorer",
  status: { errorCode: 0 },
};

import { z } from "zod";
import { GraphRequestError } from "./graphErrors.js";

/**
 * Graph collections as a stream of pages (STYLE.md habit 7): `$select` keeps pages small, `@odata.nextLink` is
 * followed as Graph returns it (it carries the `$skiptoken`/`$skip`, the filter and the selection), and after every
 * page the caller gets a checkpoint it can persist and later resume from. Nothing holds more than one page.
 */

export const GRAPH_ORIGIN = "https://graph.microsoft.com";

/** Where a stream stands after a page. JSON-safe, so callers can store it as is. */
export interface PageCheckpoint {
  /** The next page to read; null when the stream is complete. */
  nextLink: string | null;
  /** `timestampField` of the last item read so far, in stream order (null until one was read). */
  lastTimestamp: string | null;
}

export const PageCheckpointSchema = z.object({
  nextLink: z.string().nullable(),
  lastTimestamp: z.string().nullable(),
});

export interface GraphPage<T> {
  items: T[];
  checkpoint: PageCheckpoint;
}

export interface PageOptions<T> {
  /** Properties to return (`$select`); fewer properties, smaller pages. */
  select?: readonly string[];
  /** A `$filter` built with `graphFilter` (values escaped there, never concatenated raw). */
  filter?: string;
  /** Page size (`$top`). */
  top?: number;
  /** Resume here instead of starting at `path` (a checkpoint with `nextLink: null` is a finished stream). */
  checkpoint?: PageCheckpoint;
  /** Schema of one item; items are returned as Graph sent them by default. */
  item?: z.ZodType<T>;
  /** Item property that the checkpoint's `lastTimestamp` follows (e.g. `createdDateTime`). */
  timestampField?: string;
  /** API version (default `v1.0`). */
  version?: "v1.0" | "beta";
}

/** One page as Graph documents it: a `value` array and, unless it is the last, `@odata.nextLink`. */
export const GraphPageSchema = z.looseObject({
  value: z.array(z.unknown()),
  "@odata.nextLink": z.string().optional(),
});

/** A value placed in a `$filter`: instants unquoted ISO 8601, strings quoted with `''` escaping, numbers, booleans. */
export type FilterValue = Date | string | number | boolean;

function filterLiteral(value: FilterValue): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new RangeError("graphFilter: invalid Date");
    return value.toISOString();
  }
  if (typeof value === "string") return `'${value.replace(/'/g, "''")}'`;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError("graphFilter: number must be finite");
    return String(value);
  }
  return value ? "true" : "false";
}

/**
 * The one place OData `$filter` text is built from values (STYLE.md habit 6), as in @azure/data-tables' `odata`:
 * graphFilter`lastModifiedDateTime ge ${since} and isResolved eq ${false}`.
 */
export function graphFilter(strings: TemplateStringsArray, ...values: FilterValue[]): string {
  return strings.reduce((out, text, i) => out + text + (i < values.length ? filterLiteral(values[i] as FilterValue) : ""), "");
}

/** The absolute URL of a collection's first page. */
export function firstPageUrl(path: string, options: Pick<PageOptions<unknown>, "select" | "filter" | "top" | "version">): string {
  if (!/^\/[A-Za-z0-9/_.-]+$/.test(path)) throw new RangeError(`not a Graph collection path: ${path}`);
  const params: string[] = [];
  if (options.select && options.select.length > 0) params.push(`$select=${encodeURIComponent(options.select.join(","))}`);
  if (options.filter) params.push(`$filter=${encodeURIComponent(options.filter)}`);
  if (options.top !== undefined) {
    if (!Number.isInteger(options.top) || options.top < 1) throw new RangeError("top must be a positive integer");
    params.push(`$top=${String(options.top)}`);
  }
  return `${GRAPH_ORIGIN}/${options.version ?? "v1.0"}${path}${params.length > 0 ? `?${params.join("&")}` : ""}`;
}

/**
 * Pages of a Graph collection. `get` fetches one absolute Graph URL and returns its JSON body (the client factory's
 * `GraphApi.get`, with throttle budget and retries). A page that is not a `value` array, or a nextLink that leaves
 * https://graph.microsoft.com (where our bearer token must never go), ends the stream with
 * `graph-invalid-response`.
 */
export async function* graphPages<T = unknown>(
  get: (url: string) => Promise<unknown>,
  tenantId: string,
  path: string,
  options: PageOptions<T> = {},
): AsyncGenerator<GraphPage<T>, void, undefined> {
  let url: string | null = options.checkpoint ? options.checkpoint.nextLink : firstPageUrl(path, options);
  // A stored checkpoint is checked like a nextLink Graph sent: our bearer token only ever goes to Graph.
  if (url !== null && !url.startsWith(`${GRAPH_ORIGIN}/`)) {
    throw new GraphRequestError("graph-invalid-response", 0, `a checkpoint's nextLink is outside ${GRAPH_ORIGIN}`, { tenantId });
  }
  let lastTimestamp = options.checkpoint?.lastTimestamp ?? null;
  while (url !== null) {
    const body = await get(url);
    const page = GraphPageSchema.safeParse(body);
    if (!page.success) {
      throw new GraphRequestError("graph-invalid-response", 200, `Graph page of ${path} is not a collection: ${z.prettifyError(page.error)}`, { tenantId });
    }
    const items: T[] = [];
    for (const [index, raw] of page.data.value.entries()) {
      if (options.item) {
        const parsed = options.item.safeParse(raw);
        if (!parsed.success) {
          throw new GraphRequestError("graph-invalid-response", 200, `item ${String(index)} of a ${path} page: ${z.prettifyError(parsed.error)}`, { tenantId });
        }
        items.push(parsed.data);
      } else {
        items.push(raw as T);
      }
      if (options.timestampField && typeof raw === "object" && raw !== null) {
        const stamp = (raw as Record<string, unknown>)[options.timestampField];
        if (typeof stamp === "string") lastTimestamp = stamp;
      }
    }
    const next = page.data["@odata.nextLink"] ?? null;
    if (next !== null && !next.startsWith(`${GRAPH_ORIGIN}/`)) {
      throw new GraphRequestError("graph-invalid-response", 200, `Graph returned a nextLink outside ${GRAPH_ORIGIN}`, { tenantId });
    }
    url = next;
    yield { items, checkpoint: { nextLink: next, lastTimestamp } };
  }
}

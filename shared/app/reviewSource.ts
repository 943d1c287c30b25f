/**
 * What the control runner reads from Microsoft Graph, as a port (the adapter is graph/graphReviewSource.ts).
 * Streams are the Graph collections a review replays; pages arrive as Graph sends them (newest first).
 */
export const REVIEW_STREAMS = ["signIns:v1.0", "signIns:beta", "directoryAudits", "riskDetections"] as const;
export type ReviewStream = (typeof REVIEW_STREAMS)[number];

/** One page of a stream and where the stream goes on (Graph's `@odata.nextLink`; null after the last page). */
export interface ReviewPage {
  items: unknown[];
  nextLink: string | null;
}

/**
 * Graph no longer accepts a stored nextLink (its `$skiptoken` expired or is unknown): the caller reads the range
 * again from its start.
 */
export class ResumeRejectedError extends Error {
  override readonly name = "ResumeRejectedError";
  constructor(readonly stream: ReviewStream, options?: { cause?: unknown }) {
    super(`Graph refused to resume ${stream} from its stored nextLink`, options);
  }
}

export interface ReviewSource {
  /**
   * Pages of `stream` for the tenant with timestamps in [from, to). `select` narrows the properties (undefined:
   * every property, as preserved evidence needs). v1.0 sign-ins are the interactive ones; `signIns:beta` is the
   * non-interactive, service-principal and managed-identity sign-ins (`signInEventTypes`). With `resume` (a
   * nextLink a page of the same query gave) the stream goes on from there; when Graph refuses it, the first page
   * throws ResumeRejectedError.
   */
  pages(tenantId: string, stream: ReviewStream, from: Date, to: Date, select: readonly string[] | undefined, resume?: string): AsyncIterable<ReviewPage>;
  /** The request a stream makes (method and path, `$filter`, `$select`), for evidence manifests. */
  describe(stream: ReviewStream, from: Date, to: Date, select: readonly string[] | undefined): { request: string; filter: string; select?: string[] };
  /** Object ids of users holding a privileged directory role. */
  privilegedUserIds(tenantId: string): Promise<string[]>;
  /** Graph 429 answers seen by this process so far (the runner reports the difference as throttled waits). */
  throttledSoFar(): number;
}

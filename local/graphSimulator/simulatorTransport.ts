/**
 * The last middleware of a Graph client chain pointed at the simulator. The client keeps
 * `https://graph.microsoft.com` as its base URL (with an http:// base the v3 client sends no Authorization header
 * and PageIterator mangles nextLinks, see ../shared/TOOLCHAIN.md); this middleware rewrites the origin to the
 * simulator and performs the fetch.
 */

export const GRAPH_ORIGIN = "https://graph.microsoft.com";

/**
 * The part of the Graph client's middleware `Context` this middleware uses. Declared here because the client's
 * own typings name DOM globals (`RequestInfo`) that a Node-only lib does not resolve.
 */
export interface GraphMiddlewareContext {
  request: string | Request;
  options?: RequestInit;
  response?: Response;
}

/** Rewrites `https://graph.microsoft.com/…` to `${simulatorUrl}/…` and fetches it (a Graph client `Middleware`). */
export class SimulatorFetchMiddleware {
  constructor(private readonly simulatorUrl: string) {}

  async execute(context: GraphMiddlewareContext): Promise<void> {
    const original = typeof context.request === "string" ? context.request : context.request.url;
    const url = original.startsWith(GRAPH_ORIGIN) ? this.simulatorUrl + original.slice(GRAPH_ORIGIN.length) : original;
    const request = typeof context.request === "string" ? url : new Request(url, context.request);
    context.response = await fetch(request, context.options);
  }
}

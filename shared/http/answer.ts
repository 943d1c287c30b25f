import type { HttpResponseInit, InvocationContext } from "@azure/functions";
import type { Logger } from "../app/ports.js";
import { loggerFor, type Services } from "../runtime.js";
import { errorResponse } from "./problem.js";

/**
 * Runs one HTTP request's work and turns any error into its answer in one place (octokit/webhooks.js habit): user
 * errors as 4xx problem+json; anything else as 503 with Retry-After, because a caller that retries loses nothing,
 * while a 500 is not retried by action groups.
 */
export async function answer(context: InvocationContext, services: Services, work: (logger: Logger) => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  const logger = loggerFor(services, context);
  try {
    return await work(logger);
  } catch (error) {
    return errorResponse(error, logger, { failClosedStatus: 503, retryAfterSeconds: services.settings.BLINDWINDOW_RETRY_AFTER_SECONDS });
  }
}

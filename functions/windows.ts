import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { invocationLogger } from "../shared/adapters/logger.js";
import { listWindows } from "../shared/app/queryLedger.js";
import { errorResponse, jsonResponse } from "../shared/http/problem.js";
import { getServices, type Services } from "../shared/runtime.js";

/** `GET /api/windows?tenant=&status=`: the blind-window ledger, soonest review deadline first. */
export async function windowsList(request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  const logger = services.logger ?? invocationLogger(context, services.settings.BLINDWINDOW_LOG_LEVEL);
  try {
    const windows = await listWindows(services, Object.fromEntries(request.query));
    return jsonResponse(200, { windows });
  } catch (error) {
    return errorResponse(error, logger, { failClosedStatus: 503, retryAfterSeconds: services.settings.BLINDWINDOW_RETRY_AFTER_SECONDS });
  }
}

app.http("windowsList", {
  route: "windows",
  methods: ["GET"],
  authLevel: "function",
  handler: (request, context) => windowsList(request, context),
});

import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { invocationLogger } from "../shared/adapters/logger.js";
import { getHealth } from "../shared/app/getHealth.js";
import { errorResponse, jsonResponse } from "../shared/http/problem.js";
import { getServices, type Services } from "../shared/runtime.js";

/** `GET /api/health`: storage reachability and component heartbeats; 503 when storage is unreachable. */
export async function health(_request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  const logger = services.logger ?? invocationLogger(context, services.settings.BLINDWINDOW_LOG_LEVEL);
  try {
    const report = await getHealth(services);
    return jsonResponse(report.status === "unavailable" ? 503 : 200, report, report.status === "unavailable" ? { "retry-after": "30" } : {});
  } catch (error) {
    return errorResponse(error, logger, { failClosedStatus: 503, retryAfterSeconds: services.settings.BLINDWINDOW_RETRY_AFTER_SECONDS });
  }
}

app.http("health", {
  route: "health",
  methods: ["GET"],
  authLevel: "function",
  handler: (request, context) => health(request, context),
});

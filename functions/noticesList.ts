import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { invocationLogger } from "../shared/adapters/logger.js";
import { listNotices } from "../shared/app/queryLedger.js";
import { errorResponse, jsonResponse } from "../shared/http/problem.js";
import { getServices, type Services } from "../shared/runtime.js";

/** `GET /api/notices?unmatched=true`: stored notices and what processing made of them. */
export async function noticesList(request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  const logger = services.logger ?? invocationLogger(context, services.settings.BLINDWINDOW_LOG_LEVEL);
  try {
    const notices = await listNotices(services, Object.fromEntries(request.query));
    return jsonResponse(200, { notices });
  } catch (error) {
    return errorResponse(error, logger, { failClosedStatus: 503, retryAfterSeconds: services.settings.BLINDWINDOW_RETRY_AFTER_SECONDS });
  }
}

app.http("noticesList", {
  route: "notices",
  methods: ["GET"],
  authLevel: "function",
  handler: (request, context) => noticesList(request, context),
});

import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { normaliseManualNotice } from "../shared/domain/manualNotice.js";
import { handleNoticeIntake } from "../shared/http/intake.js";
import { getServices, type Services } from "../shared/runtime.js";

/** `POST /api/notices`: a notice posted by an operator, e.g. a post-incident review pasted from e-mail. */
export async function noticeSubmit(request: HttpRequest, context: InvocationContext, services: Services = getServices()): Promise<HttpResponseInit> {
  return handleNoticeIntake(request, context, services, normaliseManualNotice);
}

app.http("noticeSubmit", {
  route: "notices",
  methods: ["POST"],
  authLevel: "function",
  handler: (request, context) => noticeSubmit(request, context),
});

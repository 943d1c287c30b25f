import type { MailPort } from "../../app/taskPorts.js";
import type { GraphClientFactory } from "./graphClientFactory.js";
import { channelErrorFromGraph } from "./graphPlannerChannel.js";

/**
 * Task e-mail through Graph `POST /users/{sender}/sendMail` in MIME form: the body is the base64 MIME message with
 * `Content-Type: text/plain` (https://learn.microsoft.com/graph/api/user-sendmail, example "send a new message using
 * MIME format"). 202 means accepted for delivery, not delivered. The app's Mail.Send must be restricted to the sender
 * mailbox (docs/graph-permissions.md).
 */
export class GraphMailChannel implements MailPort {
  constructor(private readonly graph: GraphClientFactory) {}

  async send(tenantId: string, sender: string, mime: string): Promise<void> {
    try {
      await this.graph(tenantId).send("POST", `/users/${encodeURIComponent(sender)}/sendMail`, Buffer.from(mime, "utf8").toString("base64"), { contentType: "text/plain" });
    } catch (error) {
      throw channelErrorFromGraph(error, "sendMail");
    }
  }
}

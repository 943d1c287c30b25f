import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { HttpRequest } from "@azure/functions";
import { AuthenticationError } from "../errors.js";

/**
 * The app id Azure Monitor action groups use to get tokens for a *secure webhook*
 * (https://learn.microsoft.com/azure/azure-monitor/alerts/action-groups#secure-webhook).
 */
export const ACTION_GROUP_APP_ID = "461e8683-5575-4561-ac7f-899cc907d62a";

export interface WebhookAuthOptions {
  audience: string;
  tenantId?: string;
  jwksUrl?: string;
}

export type BearerVerifier = (request: HttpRequest) => Promise<void>;

/**
 * Verifies the Entra bearer token an action group's secure webhook sends: RS256 signature against the tenant's JWKS,
 * issuer (v1 `sts.windows.net` or v2 `login.microsoftonline.com/…/v2.0`), audience, the action-group app id
 * (`appid` in v1 tokens, `azp` in v2), expiry and not-before. Any failure is a 401 without details for the caller.
 */
export function createBearerVerifier(options: WebhookAuthOptions): BearerVerifier {
  const jwksUrl = options.jwksUrl ?? `https://login.microsoftonline.com/${options.tenantId ?? "common"}/discovery/v2.0/keys`;
  const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 5_000 });
  const issuers = options.tenantId
    ? [`https://sts.windows.net/${options.tenantId}/`, `https://login.microsoftonline.com/${options.tenantId}/v2.0`]
    : undefined;
  return async (request) => {
    const header = request.headers.get("authorization") ?? "";
    const match = /^Bearer\s+([A-Za-z0-9._-]+)$/i.exec(header.trim());
    if (!match?.[1]) throw new AuthenticationError("A bearer token is required");
    try {
      const { payload } = await jwtVerify(match[1], keys, {
        audience: options.audience,
        algorithms: ["RS256"],
        clockTolerance: 60,
        requiredClaims: ["exp", "iss", "aud"],
        ...(issuers ? { issuer: issuers } : {}),
      });
      const appId = typeof payload.appid === "string" ? payload.appid : typeof payload.azp === "string" ? payload.azp : undefined;
      if (appId !== ACTION_GROUP_APP_ID) throw new Error("token was not issued to the action group app");
    } catch {
      throw new AuthenticationError("The bearer token is not valid for this webhook");
    }
  };
}

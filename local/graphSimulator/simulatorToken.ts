/**
 * Bearer tokens for the Graph simulator. The simulator identifies the tenant from the token's `tid` claim and
 * never verifies signatures, so these tokens are unsigned JWTs (`alg: none`). They are useless against real Graph.
 */
import type { AccessToken, TokenCredential } from "@azure/identity";

const TOKEN_LIFETIME_S = 3600;

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** An unsigned JWT naming `tenantId` in `tid`, as an app-only Graph token would. */
export function simulatorToken(tenantId: string, options: { appId?: string; nowMs?: number } = {}): string {
  const iat = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const header = { alg: "none", typ: "JWT" };
  const payload = {
    aud: "https://graph.microsoft.com",
    iss: `https://sts.windows.net/${tenantId}/`,
    tid: tenantId,
    appid: options.appId ?? "00000000-0000-0000-0000-0000000b11d0",
    roles: ["AuditLog.Read.All", "IdentityRiskEvent.Read.All", "ServiceHealth.Read.All", "Mail.Send", "Tasks.ReadWrite.All"],
    iat,
    nbf: iat,
    exp: iat + TOKEN_LIFETIME_S,
  };
  return `${base64url(header)}.${base64url(payload)}.`;
}

/** The `tid` claim of a bearer token, or undefined when the token is not a readable JWT. */
export function tenantOfToken(token: string): string | undefined {
  const payload = token.split(".")[1];
  if (token.split(".").length !== 3 || !payload) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    if (typeof claims === "object" && claims !== null && "tid" in claims && typeof claims.tid === "string") return claims.tid;
  } catch {
    return undefined;
  }
  return undefined;
}

/** A `TokenCredential` (the @azure/identity contract) that hands out simulator tokens for one tenant. */
export function simulatorCredential(tenantId: string): TokenCredential & { requests: number } {
  const credential = {
    requests: 0,
    getToken(): Promise<AccessToken> {
      credential.requests++;
      const nowMs = Date.now();
      return Promise.resolve({ token: simulatorToken(tenantId, { nowMs }), expiresOnTimestamp: nowMs + TOKEN_LIFETIME_S * 1000 });
    },
  };
  return credential;
}

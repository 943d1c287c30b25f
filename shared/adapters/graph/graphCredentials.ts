import {
  ClientAssertionCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type AccessToken,
  type TokenCredential,
} from "@azure/identity";
import type { Settings } from "../../config.js";

/**
 * Credentials of blindwindow's multi-tenant app, one per customer tenant (app-only tokens are issued by the customer
 * tenant that consented to the app). Three ways to prove the app's identity, chosen by settings:
 * - client secret (`BLINDWINDOW_GRAPH_CLIENT_SECRET`, a Key Vault reference in Azure);
 * - client certificate (`BLINDWINDOW_GRAPH_CERTIFICATE_PATH`, PEM with private key);
 * - a user-assigned managed identity used as a federated identity credential of the app
 *   (`BLINDWINDOW_GRAPH_FEDERATED_IDENTITY_CLIENT_ID`): no secret exists at all. The managed identity's token for
 *   `api://AzureADTokenExchange` is the client assertion
 *   (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity).
 * - Only for a loopback http `BLINDWINDOW_GRAPH_BASE_URL` (the local Graph simulator) and no client id: unsigned
 *   tokens naming the tenant, which the simulator accepts and real Graph never would.
 *
 * Secrets are read from settings only and never logged; `describe()` names the kind of credential, nothing else.
 */

export type GraphCredentialKind = "client-secret" | "client-certificate" | "federated-managed-identity" | "loopback-simulator";

export interface GraphCredentials {
  readonly kind: GraphCredentialKind;
  /** The credential for one customer tenant (cached: identity's token caches live in the credential). */
  forTenant(tenantId: string): TokenCredential;
  describe(): string;
}

export type GraphConfiguration =
  | { configured: true; credentials: GraphCredentials; baseUrl: string | undefined }
  | { configured: false; reason: string };

/** The token audience for Graph app-only tokens. */
export const GRAPH_SCOPE = "https://graph.microsoft.com/.default";
/** Audience of the managed identity token used as a federated client assertion. */
export const TOKEN_EXCHANGE_SCOPE = "api://AzureADTokenExchange/.default";

/** True for `http://127.0.0.1…`, `http://localhost…`, `http://[::1]…`: a server on this machine. */
export function isLoopbackHttpUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== "http:") return false;
  const host = parsed.hostname.toLowerCase();
  return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

const SIMULATOR_TOKEN_LIFETIME_S = 3600;

/**
 * Unsigned (`alg: none`) app-only tokens naming the tenant in `tid`, for the local Graph simulator. Refused for any
 * base URL that is not loopback http, so it can never send such a token towards a real endpoint.
 */
export class LoopbackSimulatorCredential implements TokenCredential {
  constructor(private readonly tenantId: string, baseUrl: string, private readonly clock: () => number = Date.now) {
    if (!isLoopbackHttpUrl(baseUrl)) {
      throw new Error("LoopbackSimulatorCredential is only for a loopback http BLINDWINDOW_GRAPH_BASE_URL (the local Graph simulator)");
    }
  }

  getToken(): Promise<AccessToken> {
    const nowMs = this.clock();
    const iat = Math.floor(nowMs / 1000);
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const token = `${part({ alg: "none", typ: "JWT" })}.${part({
      aud: "https://graph.microsoft.com",
      iss: `https://sts.windows.net/${this.tenantId}/`,
      tid: this.tenantId,
      roles: ["ServiceHealth.Read.All", "AuditLog.Read.All", "IdentityRiskEvent.Read.All"],
      iat,
      nbf: iat,
      exp: iat + SIMULATOR_TOKEN_LIFETIME_S,
    })}.`;
    return Promise.resolve({ token, expiresOnTimestamp: nowMs + SIMULATOR_TOKEN_LIFETIME_S * 1000 });
  }
}

function perTenant(kind: GraphCredentialKind, build: (tenantId: string) => TokenCredential, description: string): GraphCredentials {
  const cache = new Map<string, TokenCredential>();
  return {
    kind,
    forTenant(tenantId) {
      const key = tenantId.toLowerCase();
      let credential = cache.get(key);
      if (!credential) {
        credential = build(key);
        cache.set(key, credential);
      }
      return credential;
    },
    describe: () => description,
  };
}

/**
 * Which Graph credentials the settings describe, or why Graph is not configured. Precedence when several are set:
 * federated managed identity (no secret to leak), then certificate, then secret.
 */
export function graphConfigurationFromSettings(settings: Settings): GraphConfiguration {
  const baseUrl = settings.BLINDWINDOW_GRAPH_BASE_URL;
  const clientId = settings.BLINDWINDOW_GRAPH_CLIENT_ID;
  if (!clientId) {
    if (baseUrl && isLoopbackHttpUrl(baseUrl)) {
      return {
        configured: true,
        baseUrl,
        credentials: perTenant("loopback-simulator", (tenantId) => new LoopbackSimulatorCredential(tenantId, baseUrl), `loopback simulator tokens for ${baseUrl}`),
      };
    }
    return { configured: false, reason: "BLINDWINDOW_GRAPH_CLIENT_ID is not set" };
  }
  const federatedId = settings.BLINDWINDOW_GRAPH_FEDERATED_IDENTITY_CLIENT_ID;
  if (federatedId) {
    const managedIdentity = new ManagedIdentityCredential({ clientId: federatedId });
    const assertion = async (): Promise<string> => (await managedIdentity.getToken(TOKEN_EXCHANGE_SCOPE)).token;
    return {
      configured: true,
      baseUrl,
      credentials: perTenant(
        "federated-managed-identity",
        (tenantId) => new ClientAssertionCredential(tenantId, clientId, assertion),
        `app ${clientId} with managed identity ${federatedId} as federated credential`,
      ),
    };
  }
  const certificatePath = settings.BLINDWINDOW_GRAPH_CERTIFICATE_PATH;
  if (certificatePath) {
    return {
      configured: true,
      baseUrl,
      credentials: perTenant(
        "client-certificate",
        (tenantId) => new ClientCertificateCredential(tenantId, clientId, { certificatePath }),
        `app ${clientId} with a client certificate`,
      ),
    };
  }
  const secret = settings.BLINDWINDOW_GRAPH_CLIENT_SECRET;
  if (secret) {
    return {
      configured: true,
      baseUrl,
      credentials: perTenant("client-secret", (tenantId) => new ClientSecretCredential(tenantId, clientId, secret), `app ${clientId} with a client secret`),
    };
  }
  return {
    configured: false,
    reason:
      "BLINDWINDOW_GRAPH_CLIENT_ID is set without a credential: set BLINDWINDOW_GRAPH_FEDERATED_IDENTITY_CLIENT_ID, BLINDWINDOW_GRAPH_CERTIFICATE_PATH or BLINDWINDOW_GRAPH_CLIENT_SECRET",
  };
}

/**
 * A Microsoft Graph client (the real `@microsoft/microsoft-graph-client` v3) wired to the simulator: bearer tokens
 * from simulatorCredential, optional RetryHandler, and SimulatorFetchMiddleware as the last link. For tests and the
 * demo; production code builds its own client through the Graph adapter.
 */
import { AuthenticationHandler, Client, RetryHandler, RetryHandlerOptions, type Middleware } from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
import type { TokenCredential } from "@azure/identity";
import { simulatorCredential } from "./simulatorToken.js";
import { SimulatorFetchMiddleware } from "./simulatorTransport.js";

export interface SimulatorGraphClientOptions {
  /** Add Graph's RetryHandler (429/503/504, honours Retry-After). Off by default so tests see every response. */
  retries?: number;
  /** Use this credential instead of a simulator token for `tenantId`. */
  credential?: TokenCredential;
}

export function simulatorGraphClient(simulatorUrl: string, tenantId: string, options: SimulatorGraphClientOptions = {}): Client {
  const authProvider = new TokenCredentialAuthenticationProvider(options.credential ?? simulatorCredential(tenantId), {
    scopes: ["https://graph.microsoft.com/.default"],
  });
  const chain: Middleware[] = [new AuthenticationHandler(authProvider)];
  if (options.retries !== undefined && options.retries > 0) {
    chain.push(new RetryHandler(new RetryHandlerOptions(1, options.retries)));
  }
  chain.push(new SimulatorFetchMiddleware(simulatorUrl));
  return Client.initWithMiddleware({ middleware: chain, defaultVersion: "v1.0" });
}

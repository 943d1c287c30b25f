import type { AzuriteService, EmbeddedAzurite } from "../../local/azurite.js";

/** Empties the account: restarts the services in memory on the same ports, so they come back with no data. */
export async function emptyAccount(azurite: EmbeddedAzurite, services: readonly AzuriteService[] = ["table", "queue"]): Promise<void> {
  for (const s of services) await azurite.stopService(s);
  for (const s of services) await azurite.startService(s);
}

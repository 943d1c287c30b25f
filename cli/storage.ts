import { loadSettings, processEnvironment, SettingsError } from "../shared/config.js";
import { createServices, type Services } from "../shared/runtime.js";
import { CliError, type CliIo } from "./program.js";

/**
 * Runs `work` against the storage named by the settings. The CLI never starts a throw-away Azurite for commands
 * that record data: what it writes must be where the functions (or the local host) will find it.
 */
export async function withStorage<T>(_io: CliIo, work: (services: Services) => Promise<T>): Promise<T> {
  let services: Services;
  try {
    const settings = loadSettings(processEnvironment());
    if (!settings.AzureWebJobsStorage && !settings.AzureWebJobsStorage__accountName) {
      throw new CliError(
        "no storage configured: set AzureWebJobsStorage (`npm start` prints the connection string of its embedded Azurite)",
      );
    }
    services = createServices(settings);
  } catch (error) {
    if (error instanceof SettingsError) throw new CliError(error.message);
    throw error;
  }
  return work(services);
}

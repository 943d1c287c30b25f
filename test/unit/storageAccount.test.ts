import { describe, expect, it } from "vitest";
import { loadSettings } from "../../shared/config.js";
import { storageAccountFromSettings } from "../../shared/adapters/storageAccount.js";

describe("storage account from settings", () => {
  it("reads UseDevelopmentStorage=true (Core Tools' local.settings.json) as the emulator on its standard ports", () => {
    const account = storageAccountFromSettings(loadSettings({ AzureWebJobsStorage: "UseDevelopmentStorage=true" }));
    expect(account.describe()).toBe("connection string (account devstoreaccount1, tables at http://127.0.0.1:10002/devstoreaccount1)");
    expect(account.table("Notices").url).toBe("http://127.0.0.1:10002/devstoreaccount1");
  });

  it("uses identity-based settings without a connection string, and never describes a key", () => {
    const account = storageAccountFromSettings(loadSettings({ AzureWebJobsStorage__accountName: "stbw123", AzureWebJobsStorage__clientId: "11111111-2222-3333-4444-555555555555" }));
    expect(account.describe()).toBe("managed identity (tables at https://stbw123.table.core.windows.net)");
  });

  it("refuses to start without any storage setting", () => {
    expect(() => storageAccountFromSettings(loadSettings({}))).toThrow(/No storage configured/);
  });
});

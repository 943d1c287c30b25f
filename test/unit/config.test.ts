import { describe, expect, it } from "vitest";
import { loadSettings, SETTING_NAMES, SettingsError } from "../../shared/config.js";

describe("settings", () => {
  it("applies documented defaults", () => {
    const s = loadSettings({ AzureWebJobsStorage: "UseDevelopmentStorage=true" });
    expect(s.BLINDWINDOW_RETRY_AFTER_SECONDS).toBe(30);
    expect(s.BLINDWINDOW_EVIDENCE_CONTAINER).toBe("evidence");
    expect(s.BLINDWINDOW_LOG_LEVEL).toBe("info");
  });

  it("ignores variables that are not settings and treats empty values as unset", () => {
    const s = loadSettings({ PATH: "/bin", BLINDWINDOW_WEBHOOK_AUDIENCE: "" });
    expect(s.BLINDWINDOW_WEBHOOK_AUDIENCE).toBeUndefined();
  });

  it("reports every invalid setting in one message", () => {
    expect(() => loadSettings({ BLINDWINDOW_RETRY_AFTER_SECONDS: "soon", BLINDWINDOW_WEBHOOK_TENANT_ID: "contoso", BLINDWINDOW_FUNCTION_KEY: "short" }))
      .toThrow(SettingsError);
    try {
      loadSettings({ BLINDWINDOW_RETRY_AFTER_SECONDS: "soon", BLINDWINDOW_WEBHOOK_TENANT_ID: "contoso", BLINDWINDOW_FUNCTION_KEY: "short" });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain("BLINDWINDOW_RETRY_AFTER_SECONDS");
      expect(message).toContain("BLINDWINDOW_WEBHOOK_TENANT_ID");
      expect(message).toContain("BLINDWINDOW_FUNCTION_KEY");
      expect(message).not.toContain("short"); // values are never echoed: a key could be in them
    }
  });

  it("requires the token tenant with a secure-webhook audience", () => {
    expect(() => loadSettings({ BLINDWINDOW_WEBHOOK_AUDIENCE: "api://blindwindow" })).toThrow(/BLINDWINDOW_WEBHOOK_TENANT_ID is required/);
  });

  it("names only AzureWebJobsStorage and BLINDWINDOW_* settings", () => {
    for (const name of SETTING_NAMES) expect(name).toMatch(/^(AzureWebJobsStorage(__\w+)?|BLINDWINDOW_[A-Z0-9_]+)$/);
  });
});

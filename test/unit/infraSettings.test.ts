import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SETTING_NAMES } from "../../shared/config.js";
import {
  NOT_IN_AZURE,
  PLATFORM_SETTINGS,
  SettingsParseError,
  bicepAppSettingNames,
  checkAppSettings,
  checkReadmeSettings,
  readmeSettingNames,
} from "../../infra/settingsCheck.js";

// Only the settings-name check runs here; compiling the Bicep is `npm run infra:build` (no download in unit tests).
const apiBicep = readFileSync(fileURLToPath(new URL("../../infra/app/api.bicep", import.meta.url)), "utf8");
const bicepNames = bicepAppSettingNames(apiBicep);
const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");

/** api.bicep with one more setting added to its first object literal. */
function withExtraSetting(name: string): string {
  return apiBicep.replace("var appSettings = union(\n  {\n", `var appSettings = union(\n  {\n    ${name}: 'x'\n`);
}

describe("infra app settings match shared/config.ts", () => {
  it("api.bicep sets exactly the config names used in Azure plus the listed platform names", () => {
    expect(checkAppSettings({ bicepNames, configNames: SETTING_NAMES })).toEqual([]);
  });

  it("reads names from the union of objects, including conditional ones", () => {
    expect(bicepNames).toContain("AzureWebJobsStorage__accountName");
    expect(bicepNames).toContain("BLINDWINDOW_GRAPH_CLIENT_SECRET");
    expect(bicepNames).toContain("BLINDWINDOW_GRAPH_FEDERATED_IDENTITY_CLIENT_ID");
    expect(bicepNames).toContain("BLINDWINDOW_WEBHOOK_AUDIENCE");
    expect(bicepNames).toContain("BLINDWINDOW_WEBHOOK_TENANT_ID");
    expect(bicepNames).not.toContain("AzureWebJobsStorage");
    expect(bicepNames).not.toContain("BLINDWINDOW_FUNCTION_KEY");
  });

  it("fails when config gains a name that the Bicep does not set", () => {
    const problems = checkAppSettings({ bicepNames, configNames: [...SETTING_NAMES, "BLINDWINDOW_NEW_THING"] });
    expect(problems).toEqual([expect.stringContaining("BLINDWINDOW_NEW_THING is read by shared/config.ts")]);
  });

  it("fails when the Bicep sets a name that config does not read", () => {
    const names = bicepAppSettingNames(withExtraSetting("BLINDWINDOW_TYPO_NAME"));
    const problems = checkAppSettings({ bicepNames: names, configNames: SETTING_NAMES });
    expect(problems).toEqual([expect.stringContaining("BLINDWINDOW_TYPO_NAME is set in api.bicep")]);
  });

  it("fails when the Bicep drops a config name", () => {
    const problems = checkAppSettings({
      bicepNames: bicepNames.filter((n) => n !== "BLINDWINDOW_LOG_LEVEL"),
      configNames: SETTING_NAMES,
    });
    expect(problems).toEqual([expect.stringContaining("BLINDWINDOW_LOG_LEVEL is read by shared/config.ts")]);
  });

  it("fails when a not-in-Azure name is set anyway, or a listed name is stale", () => {
    const setAnyway = checkAppSettings({
      bicepNames: bicepAppSettingNames(withExtraSetting("BLINDWINDOW_FUNCTION_KEY")),
      configNames: SETTING_NAMES,
    });
    expect(setAnyway).toEqual([expect.stringContaining("BLINDWINDOW_FUNCTION_KEY is listed in NOT_IN_AZURE")]);

    const stale = checkAppSettings({
      bicepNames,
      configNames: SETTING_NAMES,
      notInAzure: { ...NOT_IN_AZURE, BLINDWINDOW_REMOVED: "gone" },
      platformSettings: { ...PLATFORM_SETTINGS, WEBSITE_UNUSED: "never set" },
    });
    expect(stale).toEqual([
      expect.stringContaining("BLINDWINDOW_REMOVED is listed in NOT_IN_AZURE"),
      expect.stringContaining("WEBSITE_UNUSED is listed as a platform setting"),
    ]);
  });

  it("every name kept out of Azure is a config name with a reason", () => {
    for (const [name, reason] of Object.entries(NOT_IN_AZURE)) {
      expect(SETTING_NAMES).toContain(name);
      expect(reason.length).toBeGreaterThan(10);
    }
  });

  it("parses quoted keys, comments, interpolation and one-line objects", () => {
    const text = [
      "var appSettings = union({",
      "  // comment: NOT_A_SETTING: 'x'",
      "  'QUOTED_NAME': 'a:b ${concat('}', '{')}'",
      "  PLAIN_NAME: cond ? 'x' : 'y'",
      "}, flag ? { ONE_LINE_A: 'a', ONE_LINE_B: 'b' } : {})",
      "",
      "resource site 'Microsoft.Web/sites@2024-04-01' = {",
      "  resource settings 'config' = {",
      "    name: 'appsettings'",
      "    properties: appSettings",
      "  }",
      "}",
    ].join("\n");
    expect(bicepAppSettingNames(text)).toEqual(["QUOTED_NAME", "PLAIN_NAME", "ONE_LINE_A", "ONE_LINE_B"]);
  });

  it("rejects settings it cannot check", () => {
    const tail = "\nname: 'appsettings'\n    properties: appSettings\n";
    expect(() => bicepAppSettingNames("var other = {}\n")).toThrow(SettingsParseError);
    expect(() => bicepAppSettingNames(`var appSettings = {\n  A: 'x'\n}\n`)).toThrow(/properties: appSettings/);
    expect(() => bicepAppSettingNames(`var appSettings = {\n  A: {\n    B: 'x'\n  }\n}\n${tail}`)).toThrow(/scalars/);
    expect(() => bicepAppSettingNames(`var appSettings = {\n  '\${name}': 'x'\n}\n${tail}`)).toThrow(/computed/);
  });
});

describe("the README's settings table matches shared/config.ts and the Bicep", () => {
  const table = (...rows: string[]): string =>
    ["# app", "", "## Settings", "", "Intro text.", "", "| setting | default | meaning |", "|---|---|---|", ...rows, "", "## Next", "| `NOT_A_SETTING` | x | y |", ""].join("\n");

  it("documents exactly the names in the config schema", () => {
    const names = readmeSettingNames(readme);
    expect(checkReadmeSettings({ readmeNames: names, configNames: SETTING_NAMES })).toEqual([]);
    expect(new Set(names)).toEqual(new Set(SETTING_NAMES));
    expect(names).toHaveLength(SETTING_NAMES.length);
  });

  it("documents every name the Bicep sets, or lists it as a platform setting", () => {
    const problems = checkReadmeSettings({ readmeNames: readmeSettingNames(readme), configNames: SETTING_NAMES, bicepNames });
    expect(problems).toEqual([]);
    const undocumented = bicepNames.filter((n) => !readmeSettingNames(readme).includes(n));
    expect(undocumented.sort()).toEqual(Object.keys(PLATFORM_SETTINGS).sort());
  });

  it("reads the first column only, and expands `__x` relative to the previous full name in the cell", () => {
    const text = table(
      "| `Storage` | — | connection |",
      "| `Storage__tableServiceUri`, `__queueServiceUri`, `__blobServiceUri` | from `Storage__accountName` | endpoints |",
      "| `A__b__c`, `__d` | `IGNORED` | nested prefix |",
    );
    expect(readmeSettingNames(text)).toEqual([
      "Storage",
      "Storage__tableServiceUri",
      "Storage__queueServiceUri",
      "Storage__blobServiceUri",
      "A__b__c",
      "A__b__d",
    ]);
    expect(readmeSettingNames(readme)).toEqual(expect.arrayContaining(["AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__blobServiceUri"]));
  });

  it("fails on a missing name, an extra name and a repeated name", () => {
    const config = ["ONE", "TWO", "THREE"];
    const missing = readmeSettingNames(table("| `ONE` | — | x |", "| `TWO` | — | y |"));
    expect(checkReadmeSettings({ readmeNames: missing, configNames: config })).toEqual([
      expect.stringContaining("THREE is read by shared/config.ts but missing from the README"),
    ]);
    const extra = readmeSettingNames(table("| `ONE`, `TWO` | — | x |", "| `THREE` | — | y |", "| `FOUR` | — | z |"));
    expect(checkReadmeSettings({ readmeNames: extra, configNames: config })).toEqual([
      expect.stringContaining("FOUR is in the README's settings table but shared/config.ts does not read it"),
    ]);
    const repeated = readmeSettingNames(table("| `ONE`, `TWO` | — | x |", "| `THREE`, `ONE` | — | y |"));
    expect(checkReadmeSettings({ readmeNames: repeated, configNames: config })).toEqual([expect.stringContaining("ONE is listed more than once")]);
    expect(checkReadmeSettings({ readmeNames: config, configNames: config, bicepNames: ["ONE", "HIDDEN"], platformSettings: {} })).toEqual([
      expect.stringContaining("HIDDEN is set in api.bicep but is neither in the README's settings table"),
    ]);
  });

  it("the real README fails the check when a row is dropped or a name is added", () => {
    const dropped = readme.replace(/^\| `BLINDWINDOW_LOG_LEVEL` .*\n/m, "");
    expect(dropped).not.toEqual(readme);
    expect(checkReadmeSettings({ readmeNames: readmeSettingNames(dropped), configNames: SETTING_NAMES })).toEqual([
      expect.stringContaining("BLINDWINDOW_LOG_LEVEL is read by shared/config.ts but missing"),
    ]);
    const added = readme.replace(/^(\| `BLINDWINDOW_LOG_LEVEL` .*\n)/m, "$1| `BLINDWINDOW_NOT_READ` | — | stale |\n");
    expect(checkReadmeSettings({ readmeNames: readmeSettingNames(added), configNames: SETTING_NAMES })).toEqual([
      expect.stringContaining("BLINDWINDOW_NOT_READ is in the README's settings table"),
    ]);
  });

  it("rejects a README it cannot read", () => {
    expect(() => readmeSettingNames("# app\n\nno settings here\n")).toThrow(SettingsParseError);
    expect(() => readmeSettingNames("## Settings\n\nprose only\n\n## Next\n| `A` | b |\n")).toThrow(/no table/);
    expect(() => readmeSettingNames(table("| plain words | — | x |"))).toThrow(/names no setting/);
    expect(() => readmeSettingNames(table("| `__orphan` | — | x |"))).toThrow(/no full name precedes/);
    expect(() => readmeSettingNames(table("| `not a name` | — | x |"))).toThrow(/not a setting name/);
    expect(() => readmeSettingNames("## Settings\n\n| setting |\n| `A` |\n")).toThrow(/separator/);
  });
});

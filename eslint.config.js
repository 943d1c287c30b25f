// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Layers point one way (../shared/STYLE.md habit 2): domain is pure, only adapters import SDKs. */
const sdkImports = ["@azure/*", "@microsoft/*", "jose", "azurite", "azurite/*"];

export default tseslint.config(
  { ignores: ["dist/**", "dist-test/**", "dist-faults/**", "node_modules/**", "coverage/**", "reports/**", "bench-results/**", "infra/**/*.json"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-extraneous-class": "off",
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Read settings through shared/config.ts (STYLE.md habit 9)." },
      ],
    },
  },
  {
    files: ["shared/config.ts", "test/**", "vitest.config.ts", "infra/**"],
    rules: { "no-restricted-properties": "off" },
  },
  {
    files: ["shared/domain/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: [...sdkImports, "node:fs", "node:fs/*", "node:http", "node:https", "node:net"], message: "shared/domain is pure: no SDKs, no I/O." },
            { group: ["../app/*", "../adapters/*", "../../functions/*", "../../local/*", "../../cli/*"], message: "domain depends on nothing above it." },
          ],
        },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "shared/domain reads no clock: pass `now` in." },
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: "shared/domain reads no clock: pass `now` in." },
      ],
    },
  },
  {
    files: ["shared/app/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: sdkImports, message: "Use cases talk to ports; only shared/adapters import SDKs." }] },
      ],
    },
  },
  {
    files: ["shared/**"],
    rules: { "no-console": "error" },
  },
  {
    // Importing a function file registers its trigger: before the local host installs its shim, @azure/functions
    // falls back to test mode and registers nothing, so the intake benchmark's host found no routes (404s).
    files: ["test/bench/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["../../functions/*"], message: "Build deps from shared/ (e.g. shared/controlRuntime.ts); importing functions/ breaks the local host the benchmarks start." }] }],
    },
  },
  {
    files: ["**/*.js"],
    ...tseslint.configs.disableTypeChecked,
  },
);

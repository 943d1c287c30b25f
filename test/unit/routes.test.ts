import { describe, expect, it } from "vitest";
import { compileRoute } from "../../local/routes.js";

describe("route templates", () => {
  it("matches literal segments case-insensitively and extracts parameters", () => {
    expect(compileRoute("notices/azure-monitor").match("/Notices/azure-monitor")).toEqual({});
    expect(compileRoute("tasks/{id}/ack").match("/tasks/t%2F1/ack")).toEqual({ id: "t/1" });
    expect(compileRoute("tasks/{id}/ack").match("/tasks/1/done")).toBeUndefined();
  });
  it("supports optional parameters and constraints", () => {
    const r = compileRoute("tenants/{id:guid?}");
    expect(r.match("/tenants")).toEqual({});
    expect(r.match("/tenants/abc")).toEqual({ id: "abc" });
  });
});

import { it } from "vitest";
import { EmbeddedAzurite } from "../../../local/azurite.js";
import { table } from "../../support/storage.js";
it("dbg", async () => {
  const azurite = await EmbeddedAzurite.start();
  const t = table(azurite, "Tdebug");
  await t.createTable();
  const tryIt = async (name: string, f: () => Promise<unknown>) => { try { await f(); console.log(name, "ok"); } catch (e) { console.log(name, (e as {statusCode?: number}).statusCode, String(e).slice(0, 200)); } };
  await tryIt("prop", () => t.createEntity({ partitionKey: "p", rowKey: "r1", v: "\ud800x" }));
  await tryIt("prop read", async () => console.log(JSON.stringify((await t.getEntity("p", "r1")).v)));
  await tryIt("key", () => t.createEntity({ partitionKey: "p\ud800", rowKey: "r1" }));
  await tryIt("after", () => t.createEntity({ partitionKey: "p", rowKey: "r2" }));
  await tryIt("batchprop", () => t.submitTransaction([["create", { partitionKey: "q", rowKey: "a", v: "\ud800" }]]));
  await tryIt("after2", () => t.createEntity({ partitionKey: "p", rowKey: "r3" }));
  await tryIt("batchkey", () => t.submitTransaction([["create", { partitionKey: "q\ud800", rowKey: "a" }]]));
  await tryIt("after3", () => t.createEntity({ partitionKey: "p", rowKey: "r4" }));
  await tryIt("after3b", () => t.submitTransaction([["create", { partitionKey: "z", rowKey: "a" }]]));
  await azurite.stop();
});

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { noticeWebhook } from "../../functions/noticeWebhook.js";
import { ACTION_GROUP_APP_ID } from "../../shared/http/webhookAuth.js";
import type { Services } from "../../shared/runtime.js";
import { commonAlert } from "../support/fixtures.js";
import { context, expectProblem, jsonRequest } from "../support/http.js";
import { peekAll, testServices, type CapturedLog } from "../support/storage.js";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const AUDIENCE = "api://blindwindow-intake";
const ISSUER_V1 = `https://sts.windows.net/${TENANT}/`;
const ISSUER_V2 = `https://login.microsoftonline.com/${TENANT}/v2.0`;

let azurite: EmbeddedAzurite;
let jwks: Server;
let services: Services;
let log: CapturedLog;
let signingKey: CryptoKey;
let otherKey: CryptoKey;

beforeAll(async () => {
  azurite = await EmbeddedAzurite.start();
  const pair = await generateKeyPair("RS256");
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair("RS256")).privateKey;
  const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "k1", use: "sig", alg: "RS256" };
  // The JWKS Entra would publish, served by the test on loopback.
  jwks = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
  const { port } = jwks.address() as AddressInfo;
  ({ services, log } = testServices(azurite, {
    BLINDWINDOW_WEBHOOK_AUDIENCE: AUDIENCE,
    BLINDWINDOW_WEBHOOK_TENANT_ID: TENANT,
    BLINDWINDOW_WEBHOOK_JWKS_URL: `http://127.0.0.1:${port}/discovery/v2.0/keys`,
  }));
});
afterAll(async () => {
  await new Promise((resolve) => jwks.close(resolve));
  await azurite.stop();
});

interface TokenOptions {
  key?: CryptoKey;
  kid?: string;
  issuer?: string;
  audience?: string;
  appId?: string | undefined;
  claim?: "appid" | "azp";
  expiresIn?: number;
  notBefore?: number;
}

async function token(o: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claim = o.claim ?? "appid";
  return new SignJWT(o.appId === undefined && "appId" in o ? {} : { [claim]: o.appId ?? ACTION_GROUP_APP_ID, tid: TENANT })
    .setProtectedHeader({ alg: "RS256", kid: o.kid ?? "k1", typ: "JWT" })
    .setIssuer(o.issuer ?? ISSUER_V1)
    .setAudience(o.audience ?? AUDIENCE)
    .setIssuedAt(now - 60)
    .setNotBefore(now + (o.notBefore ?? -60))
    .setExpirationTime(now + (o.expiresIn ?? 3600))
    .sign(o.key ?? signingKey);
}

let counter = 0;
async function post(authorization: string | undefined) {
  counter += 1;
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  return noticeWebhook(jsonRequest("http://localhost/api/notices/azure-monitor", commonAlert({ trackingId: `SEC-${counter}` }), headers), context(), services);
}

describe("secure webhook (BLINDWINDOW_WEBHOOK_AUDIENCE set)", () => {
  it("accepts a valid v1 token of the action-group app", async () => {
    expect((await post(`Bearer ${await token()}`)).status).toBe(202);
  });

  it("accepts a valid v2 token (issuer …/v2.0, app id in azp)", async () => {
    expect((await post(`Bearer ${await token({ issuer: ISSUER_V2, claim: "azp" })}`)).status).toBe(202);
  });

  it.each<[string, () => Promise<string | undefined>]>([
    ["no Authorization header", () => Promise.resolve(undefined)],
    ["not a bearer token", () => Promise.resolve("Basic dXNlcjpwYXNz")],
    ["forged signature (another key, same kid)", async () => `Bearer ${await token({ key: otherKey })}`],
    ["unknown kid", async () => `Bearer ${await token({ kid: "k2" })}`],
    ["alg none", async () => {
      const [, payload] = (await token()).split(".");
      const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT", kid: "k1" })).toString("base64url");
      return `Bearer ${header}.${payload ?? ""}.`;
    }],
    ["wrong issuer", async () => `Bearer ${await token({ issuer: "https://sts.windows.net/00000000-0000-0000-0000-000000000000/" })}`],
    ["wrong audience", async () => `Bearer ${await token({ audience: "api://someone-else" })}`],
    ["wrong app id", async () => `Bearer ${await token({ appId: "00000000-0000-0000-0000-000000000001" })}`],
    ["no app id", async () => `Bearer ${await token({ appId: undefined })}`],
    ["expired", async () => `Bearer ${await token({ expiresIn: -600 })}`],
    ["not yet valid", async () => `Bearer ${await token({ notBefore: 600 })}`],
  ])("refuses %s with 401 and stores nothing", async (_name, make) => {
    const before = (await peekAll(azurite, "notices")).length;
    const authorization = await make();
    const response = await post(authorization);
    expectProblem(response, 401);
    expect((await peekAll(azurite, "notices")).length).toBe(before);
    if (authorization) expect(log.lines.join("\n")).not.toContain(authorization.replace(/^\w+\s+/, "").slice(0, 40));
  });
});

/**
 * The Redfish client against the Redfish test server: discovery, sessions, Basic fallback, credentials,
 * reachability, TLS trust, retries, the session limit, timeouts, etag handling. Every error is checked
 * for what it must say (BMC, request, fix) and must not say (password, token).
 */
import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import {
  closeAllSessions,
  closeSessionsOnSignal,
  openClientCount,
  RedfishClient,
  type RedfishClientOptions,
} from "../../src/redfish/client.js";
import { discover, soleSystem } from "../../src/redfish/discovery.js";
import { RedfishError } from "../../src/redfish/errors.js";
import { closedPort, clientFor, type LogEvent } from "./helpers.js";
import { makeSelfSignedCert, type TestCert } from "./server/certs.js";
import { DEFAULT_PASSWORD, startTestBmc, type TestBmc, type TestBmcOptions } from "./server/server.js";

const SESSIONS = "/redfish/v1/SessionService/Sessions";

let bmcs: TestBmc[] = [];
let clients: RedfishClient[] = [];
let certs: TestCert[] = [];

async function bmc(options: TestBmcOptions = {}): Promise<TestBmc> {
  const b = await startTestBmc(options);
  bmcs.push(b);
  return b;
}

function client(
  b: TestBmc,
  overrides: Partial<RedfishClientOptions> = {},
  log: LogEvent[] = [],
): RedfishClient {
  const c = clientFor(b, overrides, log);
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<RedfishError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RedfishError);
  return err as RedfishError;
}

/** Neither the password nor any session token may appear in an error or the log. */
function expectNoSecrets(b: TestBmc, ...texts: unknown[]): void {
  const all = JSON.stringify(texts);
  expect(all).not.toContain(DEFAULT_PASSWORD);
  for (const s of b.state.sessions.values()) expect(all).not.toContain(s.token);
  expect(all).not.toMatch(/Basic [A-Za-z0-9+/=]{8,}/);
}

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(bmcs.map((b) => b.stop()));
  certs.forEach((c) => c.remove());
  bmcs = [];
  clients = [];
  certs = [];
});

describe("discovery", () => {
  it("enumerates Systems, Chassis and Managers from the collections, with their real (non-1) ids", async () => {
    const b = await bmc();
    const c = client(b);
    const layout = await discover(c);
    expect(layout.redfishVersion).toBe("1.15.0");
    expect(layout.systems).toEqual([{ id: "437XR1138R2", path: "/redfish/v1/Systems/437XR1138R2" }]);
    expect(layout.chassis.map((x) => x.id)).toEqual(["Riser1", "1U"]);
    expect(layout.managers.map((x) => x.id)).toEqual(["BMC"]);
    expect(soleSystem(c, layout).id).toBe("437XR1138R2");
    expect(b.requests.some((r) => /\/(Systems|Chassis|Managers)\/1$/.test(r.path))).toBe(false);
  });
});

describe("sessions", () => {
  it("creates one session for parallel requests, reuses it, and deletes it at close", async () => {
    const b = await bmc();
    const log: LogEvent[] = [];
    const c = client(b, {}, log);
    await Promise.all([
      c.get("/redfish/v1/Systems"),
      c.get("/redfish/v1/Chassis"),
      c.get("/redfish/v1/Managers"),
    ]);
    await c.get("/redfish/v1/Systems/437XR1138R2");
    expect(c.authMode).toBe("session");
    expect(b.requestsTo("POST", SESSIONS)).toHaveLength(1);
    expect(b.requestsTo("POST", SESSIONS)[0]?.status).toBe(201);
    expect(
      b.requests
        .filter((r) => r.method === "GET" && r.path !== "/redfish/v1")
        .every((r) => r.auth === "session"),
    ).toBe(true);
    expect(b.state.sessions.size).toBe(1);
    const [id] = [...b.state.sessions.keys()];
    expectNoSecrets(b, log);

    await c.close();
    expect(b.requestsTo("DELETE", `${SESSIONS}/${id}`)[0]?.status).toBe(204);
    expect(b.state.sessions.size).toBe(0);
  });

  // Issue 19, item 1: before, only 200/201 was a login; a 204 fell back to Basic and left the session open.
  it("takes a 204 with X-Auth-Token and a relative Location as a login, and deletes that session", async () => {
    const b = await bmc({ loginReply: "204" });
    const c = client(b);
    await c.get("/redfish/v1/Systems");
    expect(c.authMode).toBe("session");
    expect(b.requestsTo("GET", "/redfish/v1/Systems")[0]?.auth).toBe("session");
    const [id] = [...b.state.sessions.keys()];
    await c.close();
    expect(b.requestsTo("DELETE", `${SESSIONS}/${id}`)[0]?.status).toBe(204);
    expect(b.state.sessions.size).toBe(0);
  });

  it("deletes a session created without a token (with Basic) before reporting it", async () => {
    const b = await bmc({ loginReply: "201-no-token" });
    const c = client(b);
    await expect(c.login()).rejects.toThrow(/no X-Auth-Token header was returned/);
    expect(b.requestsTo("DELETE", /\/Sessions\//).map((r) => [r.auth, r.status])).toEqual([["basic", 204]]);
    expect(b.state.sessions.size).toBe(0);
    await c.close();
  });

  it("deletes the session at close after a failed request too, with one bounded try", async () => {
    const b = await bmc();
    const c = client(b);
    await expect(c.get("/redfish/v1/Chassis/Nope")).rejects.toThrow(/HTTP 404/);
    expect(b.state.sessions.size).toBe(1);
    b.inject({ kind: "status", status: 503, method: "DELETE", path: /\/Sessions\//, times: 5 });
    await c.close();
    // A 503 on the logout is logged, not retried: a Ctrl-C must not wait on a busy BMC.
    expect(b.requestsTo("DELETE", /\/Sessions\//)).toHaveLength(1);
  });

  it("closeAllSessions() (for Ctrl-C) deletes the sessions of clients nobody closed, and a login in flight", async () => {
    const b = await bmc();
    const base = openClientCount();
    const open = client(b);
    await open.login();
    b.inject({ kind: "delay", ms: 300, method: "POST", path: SESSIONS });
    const inFlight = client(b);
    const login = inFlight.login();
    await new Promise((r) => setTimeout(r, 50));
    expect(openClientCount()).toBe(base + 2);
    expect(await closeAllSessions()).toBe(base + 2);
    await expect(login).resolves.toBe("session");
    expect(openClientCount()).toBe(0);
    expect(b.requestsTo("POST", SESSIONS)).toHaveLength(2);
    expect(b.requestsTo("DELETE", /\/Sessions\//).map((r) => r.status)).toEqual([204, 204]);
    expect(b.state.sessions.size).toBe(0);
  });

  it("closeSessionsOnSignal(): a Ctrl-C logs every session out, then exits 130", async () => {
    const b = await bmc();
    const c = client(b);
    await c.login();
    // A stand-in for `process`: the test worker's own signal handlers stay out of it.
    const signals = new EventEmitter();
    const exited = new Promise<number>((resolve) => {
      const uninstall = closeSessionsOnSignal((code) => {
        uninstall();
        resolve(code);
      }, signals);
      signals.emit("SIGINT", "SIGINT");
    });
    expect(signals.listenerCount("SIGINT")).toBe(1);
    expect(await exited).toBe(130);
    expect(b.requestsTo("DELETE", /\/Sessions\//).map((r) => r.status)).toEqual([204]);
    expect(b.state.sessions.size).toBe(0);
    expect(signals.listenerCount("SIGINT")).toBe(0);
  });

  it("logs in again once when the BMC expired the session mid-run", async () => {
    const b = await bmc();
    const c = client(b);
    await c.get("/redfish/v1/Systems");
    b.state.sessions.clear(); // the BMC's session timeout passed
    await c.get("/redfish/v1/Chassis");
    expect(b.requestsTo("POST", SESSIONS)).toHaveLength(2);
    expect(b.requestsTo("GET", "/redfish/v1/Chassis").map((r) => r.status)).toEqual([401, 200]);
  });

  it("falls back to Basic auth when the BMC offers no sessions, and has nothing to log out of", async () => {
    const b = await bmc({ sessions: false });
    const c = client(b);
    await discover(c);
    expect(c.authMode).toBe("basic");
    expect(b.requestsTo("POST", SESSIONS)).toHaveLength(0);
    expect(b.requests.filter((r) => r.path !== "/redfish/v1").every((r) => r.auth === "basic")).toBe(true);
    await c.close();
    expect(b.requests.some((r) => r.method === "DELETE")).toBe(false);
  });

  it("reports a wrong password on the session login, once (401 is not retried), without the password", async () => {
    const b = await bmc();
    const log: LogEvent[] = [];
    const c = client(b, { password: "not-the-password" }, log);
    const err = await failure(c.get("/redfish/v1/Systems"));
    expect(err.kind).toBe("auth");
    expect(err.message).toBe(
      `BMC of node2 (${b.address}): POST /redfish/v1/SessionService/Sessions: wrong user name or password for user \`USERID\` (HTTP 401)`,
    );
    expect(err.fix).toContain("vault key `bmc_password`");
    expect(err.exitCode).toBe(2);
    expect(b.requestsTo("POST", SESSIONS)).toHaveLength(1);
    expect(JSON.stringify([err.message, err.fix, log])).not.toContain("not-the-password");
  });

  it("reports a wrong password with Basic auth on the first authenticated GET", async () => {
    const b = await bmc({ sessions: false });
    const c = client(b, { password: "not-the-password" });
    const err = await failure(c.login());
    expect(err.kind).toBe("auth");
    expect(err.message).toContain("GET /redfish/v1/Systems: wrong user name or password");
    expect(b.requestsTo("GET", "/redfish/v1/Systems")).toHaveLength(1);
  });

  it("stops at the session limit (16, like XCC) with the fix, without retrying the 503", async () => {
    const b = await bmc();
    const sixteen = Array.from({ length: 16 }, () => client(b));
    await Promise.all(sixteen.map((c) => c.login()));
    expect(b.state.sessions.size).toBe(16);

    const log: LogEvent[] = [];
    const seventeenth = client(b, {}, log);
    const err = await failure(seventeenth.login());
    expect(err.kind).toBe("session-limit");
    expect(err.status).toBe(503);
    expect(err.message).toContain("POST /redfish/v1/SessionService/Sessions: the BMC refuses new sessions");
    expect(err.message).toContain("simultaneous sessions exceeding the limit");
    expect(err.fix).toContain("log out stale sessions in the BMC web UI");
    expect(b.requestsTo("POST", SESSIONS)).toHaveLength(17);
    expectNoSecrets(b, err.message, err.fix, log);

    // Closing one session (what every powerstack run does at its end) makes room.
    await sixteen[0]!.close();
    expect(await client(b).login()).toBe("session");
  });
});

describe("reachability, timeouts and retries", () => {
  it("names the BMC, the request and the fix when nothing listens (after bounded retries)", async () => {
    const port = await closedPort();
    const c = new RedfishClient({
      node: "node3",
      address: `https://127.0.0.1:${port}`,
      username: "USERID",
      password: "secret-pw",
      insecure: true,
      retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 5 },
    });
    clients.push(c);
    const err = await failure(c.serviceRoot());
    expect(err.kind).toBe("unreachable");
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(
      new RegExp(
        `^BMC of node3 \\(https://127\\.0\\.0\\.1:${port}\\): GET /redfish/v1/: unreachable: ECONNREFUSED.*\\(2 attempts\\)$`,
      ),
    );
    expect(err.fix).toContain("check `bmc.address`");
  });

  it("retries a 503 with backoff and succeeds", async () => {
    const b = await bmc();
    const c = client(b);
    b.inject({ kind: "status", status: 503, method: "GET", path: "/redfish/v1/Systems", retryAfter: 0 });
    const systems = await c.get("/redfish/v1/Systems");
    expect(systems["Members@odata.count"]).toBe(1);
    expect(b.requestsTo("GET", "/redfish/v1/Systems").map((r) => r.status)).toEqual([503, 200]);
  });

  it("gives up after the bounded number of 503s with the BMC's message", async () => {
    const b = await bmc();
    const c = client(b);
    b.inject({ kind: "status", status: 503, method: "GET", path: "/redfish/v1/Chassis", times: 10 });
    const err = await failure(c.get("/redfish/v1/Chassis"));
    expect(err.kind).toBe("http");
    expect(err.message).toContain("GET /redfish/v1/Chassis: HTTP 503; the BMC says: injected HTTP 503");
    expect(b.requestsTo("GET", "/redfish/v1/Chassis")).toHaveLength(3);
  });

  it("retries a GET whose connection was reset, but never repeats a POST that may have been acted on", async () => {
    const b = await bmc();
    const c = client(b);
    b.inject({ kind: "reset", method: "GET", path: "/redfish/v1/Managers" });
    expect((await c.get("/redfish/v1/Managers"))["Members@odata.count"]).toBe(1);
    expect(b.requestsTo("GET", "/redfish/v1/Managers").map((r) => r.status)).toEqual([0, 200]);

    b.inject({ kind: "reset", method: "POST", path: b.paths.reset });
    const err = await failure(c.post(b.paths.reset, { ResetType: "GracefulShutdown" }));
    expect(err.kind).toBe("unreachable");
    expect(err.message).toContain(`POST ${b.paths.reset}: connection broken`);
    expect(b.requestsTo("POST", b.paths.reset)).toHaveLength(1);
  });

  it("bounds a slow BMC with the request timeout", async () => {
    const b = await bmc();
    const c = client(b, { timeoutMs: 150, retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 5 } });
    await c.login();
    b.inject({ kind: "delay", ms: 1_000, method: "GET", path: "/redfish/v1/Chassis", times: 2 });
    const started = Date.now();
    const err = await failure(c.get("/redfish/v1/Chassis"));
    expect(Date.now() - started).toBeLessThan(1_800); // 2 × 1 s without the deadline
    expect(err.kind).toBe("timeout");
    expect(err.message).toContain(
      "GET /redfish/v1/Chassis: no answer: no complete answer within 150 ms (2 attempts)",
    );
  });
});

describe("TLS trust", () => {
  it("rejects the BMC's self-signed certificate unless told otherwise, saying how to trust it", async () => {
    const b = await bmc();
    const c = client(b, { insecure: false });
    const err = await failure(c.serviceRoot());
    expect(err.kind).toBe("tls");
    expect(err.message).toContain("GET /redfish/v1/: certificate rejected (DEPTH_ZERO_SELF_SIGNED_CERT");
    expect(err.fix).toContain("set `ca_file`");
    expect(err.fix).toContain("`insecure: true`");
    expect(b.requests).toHaveLength(0); // the handshake failed: nothing was sent, not even the password
  });

  it("accepts it when pinned with ca_file, and only that certificate", async () => {
    const b = await bmc();
    const pinned = client(b, { insecure: false, caFile: b.cert.certFile });
    expect((await discover(pinned)).systems).toHaveLength(1);

    const other = makeSelfSignedCert("another-bmc");
    certs.push(other);
    const wrong = client(b, { insecure: false, caFile: other.certFile });
    const err = await failure(wrong.serviceRoot());
    expect(err.kind).toBe("tls");
    expect(err.fix).toContain(`not signed by the CA in ca_file ${other.certFile}`);
  });

  it("checks the address against the pinned certificate's names", async () => {
    const cert = makeSelfSignedCert("XCC-elsewhere", "IP:203.0.113.9");
    certs.push(cert);
    const b = await bmc({ cert });
    const c = client(b, { insecure: false, caFile: cert.certFile });
    const err = await failure(c.serviceRoot());
    expect(err.kind).toBe("tls");
    expect(err.message).toContain("ERR_TLS_CERT_ALTNAME_INVALID");
    expect(err.fix).toContain("subjectAltName");
  });

  it("refuses an unreadable ca_file before connecting", () => {
    expect(() =>
      clientFor({ address: "https://127.0.0.1:9" } as TestBmc, {
        insecure: false,
        caFile: "/nonexistent/ca.pem",
      }),
    ).toThrow(/cannot read ca_file \/nonexistent\/ca\.pem/);
  });
});

describe("PATCH with If-Match", () => {
  it("sends the etag from the GET", async () => {
    const b = await bmc();
    const c = client(b);
    const { etag } = await c.read(b.paths.networkProtocol);
    expect(etag).toBe('W/"1"');
    await c.patch(b.paths.networkProtocol, { IPMI: { ProtocolEnabled: true } }, etag);
    expect(b.requestsTo("PATCH", b.paths.networkProtocol).map((r) => [r.ifMatch, r.status])).toEqual([
      ['W/"1"', 200],
    ]);
  });

  it("re-reads once on 412 and retries with the fresh etag", async () => {
    const b = await bmc();
    const c = client(b);
    const { etag } = await c.read(b.paths.networkProtocol);
    b.inject({ kind: "concurrent-change", method: "PATCH", path: b.paths.networkProtocol });
    await c.patch(b.paths.networkProtocol, { IPMI: { ProtocolEnabled: true } }, etag);
    expect(b.requestsTo("PATCH", b.paths.networkProtocol).map((r) => [r.ifMatch, r.status])).toEqual([
      ['W/"1"', 412],
      ['W/"2"', 200],
    ]);
    expect(b.state.ipmiEnabled).toBe(true);
  });

  it("fails clearly when the etag is stale twice", async () => {
    const b = await bmc();
    const c = client(b);
    const { etag } = await c.read(b.paths.networkProtocol);
    b.inject({ kind: "concurrent-change", method: "PATCH", path: b.paths.networkProtocol, times: 2 });
    const err = await failure(c.patch(b.paths.networkProtocol, { IPMI: { ProtocolEnabled: true } }, etag));
    expect(err.kind).toBe("precondition");
    expect(err.message).toContain(`PATCH ${b.paths.networkProtocol}: the resource changed again`);
    expect(err.fix).toContain("retry when it is done");
    expect(b.requestsTo("PATCH", b.paths.networkProtocol)).toHaveLength(2);
    expect(b.state.ipmiEnabled).toBe(false);
  });

  it("reads the etag first when the BMC demands If-Match (428) and none was given", async () => {
    const b = await bmc();
    const c = client(b);
    await c.patch(b.paths.networkProtocol, { IPMI: { ProtocolEnabled: true } });
    expect(b.requestsTo("PATCH", b.paths.networkProtocol).map((r) => r.status)).toEqual([428, 200]);
  });
});

/**
 * Issue 19, item 7: how long a BMC that does not speak Redfish takes to report, and the inventory
 * settings that bound it (`bmc.timeout_sec`, `bmc.retries`, per node).
 *
 * - A plain HTTP service on an https address is named as such, in one line, and never retried (before:
 *   raw OpenSSL text with a line break, 4 attempts).
 * - A BMC that accepts connections and never answers is reported within 30 s with the defaults (10 s,
 *   1 retry: 20.5 s; before: 4 × 20 s + backoff = 83.5 s), and within what the inventory says.
 * - The inventory's keys reach the client; flags (overrides) win over them.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { parseInventory } from "../../src/inventory/load.js";
import { DEFAULT_TIMEOUT_MS, RedfishClient } from "../../src/redfish/client.js";
import { RedfishError } from "../../src/redfish/errors.js";
import { hasBmc, inventoryClientFactory } from "../../src/redfish/from-inventory.js";
import { DEFAULT_RETRY, worstCaseMs } from "../../src/redfish/retry-policy.js";

const servers: Array<Server | HttpServer> = [];
const sockets = new Set<Socket>();
const clients: RedfishClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Accepts TCP connections and never says a word (a hung BMC web server). */
const silentBmc = () => listening(createServer());

/** A plain HTTP web server: what answers on port 80 of many BMCs. */
const plainHttp = () => listening(createHttpServer((_req, res) => res.end("<html>BMC login</html>")));

/** Listen on loopback, counting (and keeping, for cleanup) every connection; the BMC address to use. */
async function listening(
  server: Server | HttpServer,
): Promise<{ address: string; connections: () => number }> {
  let n = 0;
  server.on("connection", (sock: Socket) => {
    n++;
    sockets.add(sock);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return { address: `https://127.0.0.1:${port}`, connections: () => n };
}

function inventoryWithBmc(address: string, bmcExtra: string) {
  const inv = parseInventory(
    `cluster: { nfs_network: 198.51.100.0/24 }
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, storage_disk: /dev/vdb, bmc: { address: "${address}", username: USERID, password_secret: bmc_ctl, insecure: true${bmcExtra} } }
`,
    "/srv/inv.yaml",
  );
  const node = inv.nodes[0]!;
  if (!hasBmc(node)) throw new Error("no bmc");
  return node;
}

async function failure(p: Promise<unknown>): Promise<{ err: RedfishError; ms: number }> {
  const started = Date.now();
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RedfishError);
    return { err: err as RedfishError, ms: Date.now() - started };
  }
  throw new Error("expected a RedfishError");
}

describe("a BMC that does not answer Redfish", () => {
  it("the defaults report a silent BMC within 30 s: 10 s per request, 1 retry (20.5 s)", () => {
    expect(DEFAULT_TIMEOUT_MS).toBe(10_000);
    expect(DEFAULT_RETRY.attempts).toBe(2);
    expect(worstCaseMs(DEFAULT_RETRY, DEFAULT_TIMEOUT_MS)).toBe(20_500);
    expect(worstCaseMs(DEFAULT_RETRY, DEFAULT_TIMEOUT_MS)).toBeLessThan(30_000);
    // What it was: 4 attempts of 20 s with 0.5 + 1 + 2 s of backoff.
    expect(worstCaseMs({ attempts: 4, baseDelayMs: 500, maxDelayMs: 5_000 }, 20_000)).toBe(83_500);
  });

  it("a silent BMC is reported as the inventory's timeout_sec and retries say (1 s, 1 retry: about 1.5 s)", async () => {
    const bmc = await silentBmc();
    const node = inventoryWithBmc(bmc.address, ", timeout_sec: 1, retries: 1");
    expect(node.bmc).toMatchObject({ timeoutSec: 1, retries: 1 });
    const c = inventoryClientFactory(() => "pw")(node);
    clients.push(c);
    const { err, ms } = await failure(c.serviceRoot());
    expect(err.kind).toBe("timeout");
    expect(err.message).toBe(
      `BMC of ctl (${bmc.address}): GET /redfish/v1/: no answer: no complete answer within 1000 ms (2 attempts)`,
    );
    expect(bmc.connections()).toBe(2);
    expect(ms).toBeGreaterThanOrEqual(1_900);
    expect(ms).toBeLessThan(4_000);
  });

  it("flags (overrides) win over the inventory: --bmc-retries 0 asks once", async () => {
    const bmc = await silentBmc();
    const node = inventoryWithBmc(bmc.address, ", timeout_sec: 5, retries: 3");
    const c = inventoryClientFactory(() => "pw", {}, { timeoutSec: 1, retries: 0 })(node);
    clients.push(c);
    const { err, ms } = await failure(c.serviceRoot());
    expect(err.message).toMatch(/no complete answer within 1000 ms$/);
    expect(bmc.connections()).toBe(1);
    expect(ms).toBeLessThan(2_500);
  });

  it("the inventory's settings win over a command's own defaults (verify's 10 s, 2 attempts)", async () => {
    const bmc = await silentBmc();
    const node = inventoryWithBmc(bmc.address, ", timeout_sec: 1, retries: 0");
    const c = inventoryClientFactory(() => "pw", { timeoutMs: 10_000, retry: { attempts: 2 } })(node);
    clients.push(c);
    const { ms } = await failure(c.serviceRoot());
    expect(bmc.connections()).toBe(1);
    expect(ms).toBeLessThan(2_500);
  });

  it("plain HTTP on an https address: said in one line, with the fix, and not retried", async () => {
    const bmc = await plainHttp();
    const c = new RedfishClient({
      node: "w1",
      address: bmc.address,
      username: "USERID",
      password: "pw",
      insecure: true,
      retry: { attempts: 4, baseDelayMs: 10, maxDelayMs: 10 },
    });
    clients.push(c);
    const { err, ms } = await failure(c.serviceRoot());
    expect(err.message).toMatch(
      new RegExp(
        `^BMC of w1 \\(${bmc.address.replace(/\./g, "\\.")}\\): GET /redfish/v1/: this port speaks plain HTTP, not HTTPS \\(TLS: [^:\\n]+\\)$`,
      ),
    );
    expect(err.message).not.toContain("\n");
    expect(err.message).not.toMatch(/ssl3_|openssl|\.c:\d+/);
    expect(err.fix).toMatch(/Redfish needs HTTPS: put the BMC's HTTPS port in `bmc.address`/);
    expect(bmc.connections()).toBe(1);
    expect(ms).toBeLessThan(1_000);
  });

  it("the inventory rejects settings out of range", () => {
    expect(() => inventoryWithBmc("https://203.0.113.1", ", timeout_sec: 0")).toThrow(/timeout_sec/);
    expect(() => inventoryWithBmc("https://203.0.113.1", ", retries: -1")).toThrow(/retries/);
  });
});

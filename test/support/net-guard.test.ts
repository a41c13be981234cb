/**
 * The test suite's network guard (test/support/net-guard.ts, a setupFile of every project): connections to
 * a documentation address are refused through every client the code uses (TCP, HTTP, fetch, ssh2, UDP),
 * naming the address and the test, while loopback and unix sockets work.
 */
import { execFile } from "node:child_process";
import { once } from "node:events";
import dgram from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Client } from "ssh2";
import { afterAll, describe, expect, onTestFailed, test } from "vitest";
import { isNetGuardError, takeRefusals, type NetGuardError } from "./net-guard.js";

const OUTSIDE = "192.0.2.1";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const THIS_FILE = "test/support/net-guard.test.ts";

/** The error a client reports, unwrapped down to the guard's (fetch wraps it in `cause`). */
function guardError(err: unknown): NetGuardError {
  let e: unknown = err;
  while (e instanceof Error && !isNetGuardError(e)) e = (e as Error & { cause?: unknown }).cause;
  if (!isNetGuardError(e)) throw new Error(`not refused by the guard: ${String(err)}`);
  return e;
}

/** What a test's refusal must say: the address and the full name of the test. */
function expectRefused(err: unknown, target: string, testName: string, protocol = "tcp"): void {
  const e = guardError(err);
  const test = `test "${THIS_FILE} > refused > ${testName}"`;
  expect(e.code).toBe("ENETGUARD");
  expect(e.message).toContain(`${test} opened a ${protocol} connection to ${target}`);
  const [, host, port] = /^\[?(.*?)\]?:(\d+)$/.exec(target)!;
  expect(takeRefusals()).toEqual([{ protocol, host, port: Number(port), target, test }]);
}

describe("refused", () => {
  test("TCP", async () => {
    const sock = net.connect(22, OUTSIDE);
    const [err] = await once(sock, "error");
    expectRefused(err, `${OUTSIDE}:22`, "TCP");
  });

  test("HTTP", async () => {
    const req = http.get(`http://${OUTSIDE}:8080/redfish/v1`);
    const [err] = await once(req, "error");
    expectRefused(err, `${OUTSIDE}:8080`, "HTTP");
  });

  test("fetch (Node's undici connects through net too)", async () => {
    const err = await fetch(`https://${OUTSIDE}/redfish/v1`).then(
      () => new Error("fetch succeeded"),
      (e: unknown) => e,
    );
    expectRefused(err, `${OUTSIDE}:443`, "fetch (Node's undici connects through net too)");
  });

  test("ssh2", async () => {
    const client = new Client();
    const failed = once(client, "error");
    client.connect({ host: OUTSIDE, port: 22, username: "root", readyTimeout: 5_000 });
    const [err] = await failed;
    client.end();
    expectRefused(err, `${OUTSIDE}:22`, "ssh2");
  });

  test("IPv6 documentation range", async () => {
    const sock = net.connect({ host: "2001:db8::1", port: 443 });
    const [err] = await once(sock, "error");
    expectRefused(err, "[2001:db8::1]:443", "IPv6 documentation range");
  });

  test("the tier-1 lab's network, from the unit project (only the lab project may reach it)", async () => {
    const sock = net.connect(22, "10.77.0.10");
    const [err] = await once(sock, "error");
    expectRefused(
      err,
      "10.77.0.10:22",
      "the tier-1 lab's network, from the unit project (only the lab project may reach it)",
    );
  });

  test("a host name, unresolved (only localhost is allowed by name)", async () => {
    const sock = net.connect(80, "bmc.example.com");
    const [err] = await once(sock, "error");
    expectRefused(err, "bmc.example.com:80", "a host name, unresolved (only localhost is allowed by name)");
  });

  test("UDP send", async () => {
    const s = dgram.createSocket("udp4");
    try {
      const err = await new Promise((resolve) => s.send("x", 53, OUTSIDE, resolve));
      expectRefused(err, `${OUTSIDE}:53`, "UDP send", "udp");
    } finally {
      s.close();
    }
  });
});

describe("refused in a Node child process started with the test's environment", () => {
  const run = promisify(execFile);

  test("node -e", async () => {
    const err = await run(process.execPath, [
      "-e",
      `require("node:net").connect(22, "${OUTSIDE}").on("error", (e) => { console.error(e.message); process.exit(7); })`,
    ]).then(
      () => undefined,
      (e: { code?: number; stderr?: string }) => e,
    );
    const name = `test "${THIS_FILE} > refused in a Node child process started with the test's environment > node -e"`;
    expect(err?.code).toBe(7);
    expect(err?.stderr).toContain(`net-guard: ${name} opened a tcp connection to ${OUTSIDE}:22`);
    expect(takeRefusals()).toEqual([
      { protocol: "tcp", host: OUTSIDE, port: 22, target: `${OUTSIDE}:22`, test: name },
    ]);
  });

  test("the CLI (tsx bin/powerstack.ts): an outside Prometheus is refused, exit 3", async () => {
    const url = `http://${OUTSIDE}:9090`;
    const r = await run(
      process.execPath,
      [
        "--import",
        "tsx",
        "bin/powerstack.ts",
        "-i",
        "/nonexistent/powerstack-test/inventory.yaml",
        "energy",
        "--prometheus",
        url,
        "--since",
        "5m",
      ],
      { cwd: ROOT },
    ).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(3);
    const name = `test "${THIS_FILE} > refused in a Node child process started with the test's environment > the CLI (tsx bin/powerstack.ts): an outside Prometheus is refused, exit 3"`;
    expect(r.stderr).toContain(
      `cannot reach Prometheus at ${url}: net-guard: ${name} opened a tcp connection to ${OUTSIDE}:9090`,
    );
    // The Prometheus client tries twice (one retry): each attempt is refused.
    const refused = takeRefusals();
    expect(refused.length).toBeGreaterThan(0);
    expect(new Set(refused.map((x) => `${x.target} ${x.test}`))).toEqual(
      new Set([`${OUTSIDE}:9090 ${name}`]),
    );
  });
});

describe("a refusal the code under test swallows still fails the test", () => {
  let failures: string[] = [];

  // The guard's afterEach fails this test; `fails` turns that into the expected outcome, and the
  // message is kept for the next test to check.
  test.fails("swallowed", async () => {
    onTestFailed(({ task }) => {
      failures = task.result?.errors?.map((e) => e.message) ?? [];
    });
    const sock = net.connect(9100, "203.0.113.7");
    sock.on("error", () => {}); // as a client that retries, then reports "unreachable", would
    await new Promise((resolve) => sock.once("close", resolve));
  });

  test("with the address and the test's name", () => {
    expect(failures).toHaveLength(1); // the guard's, from its afterEach: the body itself saw no error
    const [failure] = failures;
    expect(failure).toContain("net-guard: this test opened 1 connection(s) outside loopback");
    expect(failure).toContain(
      `tcp 203.0.113.7:9100 (test "${THIS_FILE} > a refusal the code under test swallows still fails the test > swallowed")`,
    );
  });
});

describe("allowed", () => {
  const servers: net.Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  async function listen<S extends net.Server>(server: S, at: string | { host: string }): Promise<S> {
    servers.push(server);
    if (typeof at === "string") server.listen(at);
    else server.listen(0, at.host);
    await once(server, "listening");
    return server;
  }
  const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

  test("TCP to 127.0.0.1 and to localhost", async () => {
    const server = await listen(
      net.createServer((c) => c.end("hello")),
      { host: "127.0.0.1" },
    );
    for (const host of ["127.0.0.1", "localhost"]) {
      const sock = net.connect({ host, port: portOf(server), family: 4 });
      let got = "";
      sock.on("data", (d: Buffer) => (got += d.toString()));
      await once(sock, "end");
      expect(got).toBe("hello");
    }
  });

  test("HTTP and fetch to loopback", async () => {
    const server = await listen(
      http.createServer((_req, res) => res.end("ok")),
      { host: "127.0.0.1" },
    );
    const res = await fetch(`http://127.0.0.1:${portOf(server)}/`);
    expect(await res.text()).toBe("ok");
    const viaHttp = await new Promise<string>((resolve, reject) =>
      http
        .get(`http://127.0.0.1:${portOf(server)}/`, (r) => {
          let body = "";
          r.on("data", (d: Buffer) => (body += d.toString()));
          r.on("end", () => resolve(body));
        })
        .on("error", reject),
    );
    expect(viaHttp).toBe("ok");
  });

  test("a unix socket", async () => {
    const dir = mkdtempSync(join(tmpdir(), "powerstack-net-guard-"));
    try {
      const path = join(dir, "s.sock");
      await listen(
        net.createServer((c) => c.end("unix")),
        path,
      );
      const sock = net.connect(path);
      let got = "";
      sock.on("data", (d: Buffer) => (got += d.toString()));
      await once(sock, "end");
      expect(got).toBe("unix");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("UDP to loopback", async () => {
    const rx = dgram.createSocket("udp4");
    const tx = dgram.createSocket("udp4");
    try {
      rx.bind(0, "127.0.0.1");
      await once(rx, "listening");
      const got = once(rx, "message");
      tx.send("ping", rx.address().port, "127.0.0.1");
      const [msg] = await got;
      expect(String(msg)).toBe("ping");
    } finally {
      rx.close();
      tx.close();
    }
  });

  test("nothing was refused", () => {
    expect(takeRefusals()).toEqual([]);
  });
});

/**
 * DMTF's Redfish-Mockup-Server (a Redfish implementation none of us wrote, in ../shared/reference/redfish)
 * as a child process on 127.0.0.1 over HTTPS, for tests beside our own Redfish test server: ours
 * misbehaves on purpose, DMTF's shows what a standards-shaped BMC we did not model does.
 *
 * - `-D public-rackmount1 -S` (the mockup's top folder is the service root), `-s` with a throwaway
 *   self-signed pair made by openssl (test/redfish/server/certs.ts), always `-H 127.0.0.1`.
 * - The server imports `grequests` at start-up (Debian has no package): a stand-in module on
 *   `PYTHONPATH` that never sends anything anywhere (the mockup's event subscriptions point at outside
 *   hosts). `requests` comes from Debian's python3-requests (.ci/host-packages.txt).
 * - Its access log (stderr: `"POST /redfish/v1/SessionService/Sessions HTTP/1.1" 204 -`) is parsed into
 *   `requests`, so tests count logins and logouts on a server that is not ours.
 * - Stopped by its PID (SIGTERM; SIGKILL after 3 s).
 *
 * Where ../shared is missing, `dmtfAvailable()` says so on stderr and the tests skip; under CI
 * (CI=true) `requireDmtf()` throws instead, so they never pass silently.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { packageRoot } from "../../../src/package-root.js";
import { makeSelfSignedCert, type TestCert } from "../server/certs.js";

export const DMTF_DIR = resolve(packageRoot(), "..", "shared", "reference", "redfish", "dmtf-mockup-server");
const SCRIPT = join(DMTF_DIR, "redfishMockupServer.py");
const MOCKUP = join(DMTF_DIR, "public-rackmount1");
const STARTUP_MS = 15_000;

// Every call the server makes through grequests goes nowhere: the stand-in returns no response.
const GREQUESTS_STANDIN = `"""Stand-in for grequests (powerstack tests): never sends anything anywhere."""


def _nothing(*args, **kwargs):
    return None


get = post = put = patch = delete = head = options = request = _nothing


def map(requests, *args, **kwargs):
    return [None for _ in requests]


def imap(requests, *args, **kwargs):
    return iter([])
`;

let why: string | undefined | null = null;

/** Why DMTF's server cannot run here, or undefined when it can (checked once, said once on stderr). */
function missing(): string | undefined {
  if (why !== null) return why;
  if (!existsSync(SCRIPT) || !existsSync(MOCKUP))
    why = `DMTF's Redfish-Mockup-Server is missing from ${DMTF_DIR}`;
  else if (spawnSync("python3", ["-c", "import requests"], { stdio: "ignore" }).status !== 0)
    why = "python3 with `requests` is missing (Debian: apt-get install -y python3-requests)";
  else if (spawnSync("openssl", ["version"], { stdio: "ignore" }).status !== 0) why = "openssl is missing";
  else why = undefined;
  if (why) process.stderr.write(`SKIPPING the DMTF Redfish-Mockup-Server tests: ${why}\n`);
  return why;
}

export function dmtfAvailable(): boolean {
  return missing() === undefined;
}

/** For `describe.skipIf(!requireDmtf())`: under CI a missing server fails the file instead of skipping. */
export function requireDmtf(): boolean {
  const reason = missing();
  if (reason && process.env.CI)
    throw new Error(`${reason}: CI needs the shared reference set beside the clone and python3-requests`);
  return reason === undefined;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
}

export interface DmtfServer {
  /** `https://127.0.0.1:<port>`. */
  address: string;
  hostPort: string;
  pid: number;
  /** Every request answered so far, from the server's access log. */
  requests: LoggedRequest[];
  requestsTo(method: string, path: string | RegExp): LoggedRequest[];
  stop(): Promise<void>;
}

export interface DmtfOptions {
  /** `-t`: seconds every answer is delayed. */
  delaySec?: number;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
  });
}

function answers(address: string): Promise<boolean> {
  return new Promise((done) => {
    const req = request(`${address}/redfish/v1/`, { rejectUnauthorized: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode === 200));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => done(false));
    req.end();
  });
}

const ACCESS_LINE = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3})/;

export async function startDmtfServer(opts: DmtfOptions = {}): Promise<DmtfServer> {
  const reason = missing();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), "powerstack-dmtf-"));
  writeFileSync(join(dir, "grequests.py"), GREQUESTS_STANDIN);
  let cert: TestCert | undefined;
  let child: ChildProcess | undefined;
  const cleanup = () => {
    cert?.remove();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    cert = makeSelfSignedCert("DMTF-MOCKUP-TEST");
    const port = await freePort();
    const args = [SCRIPT, "-D", MOCKUP, "-S", "-H", "127.0.0.1", "-p", String(port)];
    args.push("-s", "--cert", cert.certFile, "--key", cert.keyFile);
    if (opts.delaySec) args.push("-t", String(opts.delaySec));
    child = spawn("python3", args, {
      cwd: DMTF_DIR,
      env: { ...process.env, PYTHONPATH: dir, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const requests: LoggedRequest[] = [];
    let stderr = "";
    let pending = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4_000);
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const m = ACCESS_LINE.exec(line);
        if (m) requests.push({ method: m[1]!, path: m[2]!, status: Number(m[3]) });
      }
    });
    let exited: number | null | undefined;
    const gone = new Promise<void>((r) =>
      child!.once("exit", (code) => {
        exited = code;
        r();
      }),
    );
    const address = `https://127.0.0.1:${port}`;
    const deadline = Date.now() + STARTUP_MS;
    while (!(await answers(address))) {
      if (exited !== undefined) throw new Error(`DMTF's server exited (${exited}) at start: ${stderr}`);
      if (Date.now() > deadline)
        throw new Error(`DMTF's server did not answer within ${STARTUP_MS} ms: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The readiness probes are not the test's requests.
    requests.length = 0;
    const proc = child;
    const pid = proc.pid!;
    return {
      address,
      hostPort: `127.0.0.1:${port}`,
      pid,
      requests,
      requestsTo: (method, path) =>
        requests.filter(
          (r) => r.method === method && (typeof path === "string" ? r.path === path : path.test(r.path)),
        ),
      async stop() {
        if (exited === undefined) {
          process.kill(pid, "SIGTERM");
          const kill = setTimeout(() => exited === undefined && process.kill(pid, "SIGKILL"), 3_000);
          await gone;
          clearTimeout(kill);
        }
        cleanup();
      },
    };
  } catch (err) {
    if (child?.pid && child.exitCode === null) process.kill(child.pid, "SIGKILL");
    cleanup();
    throw err;
  }
}

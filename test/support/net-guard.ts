/**
 * vitest setupFile of every project (issue 16 item 15): a test may only open connections to loopback
 * (127.0.0.0/8, ::1), unix sockets, and, in the lab and vm projects, the network of that lab's own
 * namespaces or VMs. Any other connection is refused before a packet leaves: the socket fails with an
 * error naming the address:port and the test, and the test fails even if the code under test swallows
 * that error (a client that retries and reports "unreachable" would otherwise pass quietly).
 *
 * A test that means "an outside address" (an unreachable BMC, a node that is not there) uses a
 * documentation range (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), lets the guard
 * refuse it, and takes the refusal with `takeRefusals()`, asserting on it.
 *
 * What it sees (the hooks are in net-guard-core.cjs): every TCP connect and UDP send of this process
 * (net, http, https, tls, http2, ssh2, fetch), and the same in each Node child process a test starts with
 * this process' environment: the CLI run as a child (tsx bin/powerstack.ts) is preloaded with the guard
 * through NODE_OPTIONS, and its refusals fail the test that started it.
 *
 * What it cannot see: processes that are not Node (ssh, curl, promtool, helm, prometheus, socat, QEMU),
 * Node children started with an environment of their own (no NODE_OPTIONS), the lab's globalSetup (it
 * runs in vitest's main process, not here), DNS queries made outside a connect (dns.lookup called
 * directly), and raw sockets. What those connect to is up to the inventory and arguments a test gives
 * them: hence the rule that inventories in tests name loopback or lab addresses only.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { SUBNET as TIER1_LAB_SUBNET } from "../lab/config.js";
import { LAB_SUBNET as VM_LAB_SUBNET } from "../lab/vm/config.js";

/** Networks a project may reach besides loopback: the nodes of the lab that project runs against. */
const PROJECT_NETWORKS: Record<string, readonly string[]> = {
  lab: [TIER1_LAB_SUBNET],
  vm: [VM_LAB_SUBNET],
};

export interface Refusal {
  protocol: "tcp" | "udp";
  host: string;
  port: number;
  /** `host:port`, `[v6]:port` for IPv6. */
  target: string;
  /** `test "file > describe > test"`, or `file (outside a test)` for a connection made in a hook. */
  test: string;
}

/** The error a refused socket fails with (its class lives in net-guard-core.cjs). */
export interface NetGuardError extends Error {
  code: "ENETGUARD";
  refusal: Refusal;
}

interface Core {
  state: { cidrs: string[]; who: () => string; record: (r: Refusal) => void };
  allow: (cidrs: readonly string[]) => void;
  DOCUMENTATION_RANGES: string[];
}

const CORE_PATH = new URL("./net-guard-core.cjs", import.meta.url).pathname;
const core = createRequire(import.meta.url)(CORE_PATH) as Core;

export const DOCUMENTATION_RANGES = core.DOCUMENTATION_RANGES;

export function isNetGuardError(err: unknown): err is NetGuardError {
  return err instanceof Error && (err as { code?: unknown }).code === "ENETGUARD";
}

function currentTest(): string {
  const { currentTestName, testPath } = expect.getState();
  const file = testPath ? relative(process.cwd(), testPath) : "(unknown file)";
  return currentTestName ? `test "${file} > ${currentTestName}"` : `${file} (outside a test)`;
}

// This process: refusals are kept here, named after the test running now.
const refusals: Refusal[] = [];
core.state.who = currentTest;
core.state.record = (r) => refusals.push(r);

// Node children: preloaded with the core, they append their refusals to a log that this file takes after
// each test. A file name, not a directory: it exists only once a child has refused something. The
// variables are NET_GUARD_*, not POWERSTACK_*: helpers that keep the developer's POWERSTACK_* settings
// out of a child's environment (test/init/helpers/cli.ts) must pass these on.
const CHILD_LOG = join(
  tmpdir(),
  `powerstack-net-guard-${process.pid}-${randomBytes(4).toString("hex")}.jsonl`,
);
process.env.NET_GUARD_LOG = CHILD_LOG;
const preload = `--require ${JSON.stringify(CORE_PATH)}`;
if (!process.env.NODE_OPTIONS?.includes(preload)) {
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, preload].filter(Boolean).join(" ");
}

function childRefusals(): Refusal[] {
  // Renamed before it is read: a child appending meanwhile starts a new log instead of losing its line.
  const taken = `${CHILD_LOG}.taken`;
  try {
    renameSync(CHILD_LOG, taken);
  } catch {
    return [];
  }
  try {
    return readFileSync(taken, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Refusal);
  } finally {
    rmSync(taken, { force: true });
  }
}

/**
 * The refusals recorded since the last call, in this process and in its Node children, cleared: a test
 * that expects its connection to an outside address to be refused asserts on these. Any left at the end
 * of a test fail it.
 */
export function takeRefusals(): Refusal[] {
  return [...refusals.splice(0), ...childRefusals()];
}

beforeAll((suite) => {
  const cidrs = PROJECT_NETWORKS[suite.file.projectName ?? ""] ?? [];
  core.allow(cidrs);
  process.env.NET_GUARD_ALLOW = cidrs.join(",");
});

beforeEach(() => {
  process.env.NET_GUARD_TEST = currentTest();
});

function failOnRefusals(where: string): void {
  const left = takeRefusals();
  if (left.length === 0) return;
  const lines = left.map((r) => `  ${r.protocol} ${r.target} (${r.test})`);
  const networks = core.state.cidrs.length ? ` and ${core.state.cidrs.join(", ")}` : "";
  throw new Error(
    `net-guard: ${where} opened ${left.length} connection(s) outside loopback${networks}:\n${lines.join("\n")}\n` +
      `Point them at 127.0.0.1, or, if an unreachable outside address is meant, use a documentation range ` +
      `and assert takeRefusals() in the test.`,
  );
}

afterEach(() => {
  delete process.env.NET_GUARD_TEST;
  failOnRefusals("this test");
});
afterAll(() => failOnRefusals("this file's hooks"));

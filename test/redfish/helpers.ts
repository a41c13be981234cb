/**
 * Shared test doubles for the Redfish tests: clients with short timeouts and backoff pointed at a test
 * BMC, inventory nodes for it, a Cluster that records the exact kubectl commands (no Kubernetes exists
 * in this environment) and an output that records lines and JSON objects.
 */
import type { Cluster, ClusterCallOptions, CommandResult } from "../../src/cluster/cluster.js";
import type { NodeRole, NodeSpec } from "../../src/inventory/types.js";
import { RedfishClient, type RedfishClientOptions } from "../../src/redfish/client.js";
import { inventoryClientFactory, type RedfishClientFactory } from "../../src/redfish/from-inventory.js";
import type { PowerOutput } from "../../src/redfish/power-command.js";
import { afterEach, expect } from "vitest";
import {
  DEFAULT_PASSWORD,
  DEFAULT_USER,
  startTestBmc,
  type TestBmc,
  type TestBmcOptions,
} from "./server/server.js";

export const FAST_RETRY = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 };

export interface LogEvent {
  event: string;
  data: Record<string, unknown>;
}

export function clientFor(
  bmc: TestBmc,
  overrides: Partial<RedfishClientOptions> = {},
  log: LogEvent[] = [],
): RedfishClient {
  return new RedfishClient({
    node: "node2",
    address: bmc.address,
    username: DEFAULT_USER,
    password: DEFAULT_PASSWORD,
    passwordSource: "vault key `bmc_password`",
    insecure: true,
    timeoutMs: 3_000,
    retry: FAST_RETRY,
    log: (event, data) => log.push({ event, data }),
    ...overrides,
  });
}

export function nodeFor(
  name: string,
  role: NodeRole,
  bmc?: TestBmc,
  bmcOverrides: Partial<NonNullable<NodeSpec["bmc"]>> = {},
): NodeSpec {
  return {
    name,
    role,
    sshAddress: "192.0.2.1",
    sshPort: 22,
    internalIp: "198.51.100.1",
    externalIp: "192.0.2.1",
    labels: [],
    taints: [],
    bmc: bmc && {
      address: bmc.address,
      username: DEFAULT_USER,
      passwordSecret: "bmc_password",
      insecure: true,
      ipmiOverLan: false,
      ...bmcOverrides,
    },
  };
}

/** The production factory, with a test vault and fast timing. */
export function testClientFactory(
  vault: Record<string, string> = { bmc_password: DEFAULT_PASSWORD },
): RedfishClientFactory {
  return inventoryClientFactory(
    (key) => {
      const v = vault[key];
      if (v === undefined) throw new Error(`test vault has no ${key}`);
      return v;
    },
    { retry: FAST_RETRY, timeoutMs: 3_000 },
  );
}

export interface RecordedCall {
  tool: "kubectl" | "helm";
  args: string[];
  opts?: ClusterCallOptions;
}

type Responder = (args: string[]) => Partial<CommandResult> | undefined;

/** A Cluster that records every command; `respond` decides the result (default: success, no output). */
export class RecordingCluster implements Cluster {
  readonly calls: RecordedCall[] = [];
  /** Hooks run at each call, e.g. to note how many BMC requests had been made by then. */
  readonly onCall: Array<(call: RecordedCall) => void> = [];

  constructor(private readonly respond: Responder = () => undefined) {}

  async kubectl(args: string[], opts?: ClusterCallOptions): Promise<CommandResult> {
    return this.record({ tool: "kubectl", args, opts });
  }

  async helm(args: string[], opts?: ClusterCallOptions): Promise<CommandResult> {
    return this.record({ tool: "helm", args, opts });
  }

  get kubectlArgs(): string[][] {
    return this.calls.filter((c) => c.tool === "kubectl").map((c) => c.args);
  }

  private record(call: RecordedCall): CommandResult {
    this.calls.push(call);
    for (const hook of this.onCall) hook(call);
    return { code: 0, stdout: "", stderr: "", ...this.respond(call.args) };
  }
}

export class RecordingOutput implements PowerOutput {
  readonly lines: string[] = [];
  readonly objects: Array<Record<string, unknown>> = [];
  info(line: string): void {
    this.lines.push(line);
  }
  object(value: Record<string, unknown>): void {
    this.objects.push(value);
  }
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import("node:net");
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/**
 * Test BMCs a test starts, stopped after each test; power-state changes take 30 ms unless said otherwise.
 * Call at the top level of a test file: `const bmc = testBmcs();` then `await bmc({ powerState: "Off" })`.
 */
export function testBmcs(): (options?: TestBmcOptions) => Promise<TestBmc> {
  let started: TestBmc[] = [];
  afterEach(async () => {
    await Promise.all(started.map((b) => b.stop()));
    started = [];
  });
  return async (options = {}) => {
    const b = await startTestBmc({ transitionMs: 30, ...options });
    started.push(b);
    return b;
  };
}

/** The error a promise rejects with; fails the test when it resolves or rejects with a non-Error. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

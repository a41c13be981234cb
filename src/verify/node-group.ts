/**
 * The checks of one node over SSH: connect once, read every fact the checks need through the node's
 * FactCache in one round trip, decide each check from what was read. A node that cannot be reached fails `ssh.connect` (exit code 3) and its other
 * checks are skipped with that reason, so the cause shows once, not once per check.
 */
import { describeError } from "../errors.js";
import { FactCache } from "../engine/fact-cache.js";
import type { Inventory, NodeSpec } from "../inventory/types.js";
import type { Host } from "../transport/host.js";
import { CHECKS, pass, skip, type CheckName, type CheckResult, type Verdict } from "./check.js";
import { runCheck } from "./deadline.js";
import {
  checkDataMount,
  checkK3sUnit,
  checkNfsClientMount,
  checkNfsExport,
  checkParanoid,
} from "./node-checks.js";
import { readNodeFacts, type NodeFacts } from "./node-facts.js";

export interface NodeGroup {
  node: NodeSpec;
  results: CheckResult[];
  /** Open when the node was reached; the caller closes it. */
  host?: Host;
  facts?: NodeFacts;
}

export interface NodeGroupOptions {
  connect: (node: NodeSpec) => Promise<Host>;
  connectDeadlineMs: number;
  readDeadlineMs: number;
  log?: (event: string, data: Record<string, unknown>) => void;
}

/** The node checks of a role, in report order, each a decision over the facts. */
export function nodeCheckList(
  inv: Inventory,
  node: NodeSpec,
): Array<{ name: CheckName; decide: (f: NodeFacts) => Verdict }> {
  const { dataPath, nfsNetwork, perfEventParanoid } = inv.cluster;
  const control = inv.nodes.find((n) => n.role === "control")!;
  return [
    { name: CHECKS.paranoid, decide: (f) => checkParanoid(f, perfEventParanoid, node.name) },
    ...(node.role === "control"
      ? [
          { name: CHECKS.dataMount, decide: (f: NodeFacts) => checkDataMount(f, dataPath, node.name) },
          {
            name: CHECKS.nfsExport,
            decide: (f: NodeFacts) => checkNfsExport(f, dataPath, nfsNetwork, node.name),
          },
        ]
      : [
          {
            name: CHECKS.nfsMount,
            decide: (f: NodeFacts) =>
              checkNfsClientMount(f, dataPath, `${control.internalIp}:${dataPath}`, node.name),
          },
        ]),
    { name: CHECKS.k3sUnit, decide: (f) => checkK3sUnit(f, node.role, node.name) },
  ];
}

export async function checkNodeGroup(
  inv: Inventory,
  node: NodeSpec,
  o: NodeGroupOptions,
): Promise<NodeGroup> {
  const group: NodeGroup = { node, results: [] };
  const where = `${inv.ssh.user}@${node.sshAddress}:${node.sshPort}`;
  const connectFix = "check the address, that sshd runs there, and ssh.* in the inventory";
  const connecting = o.connect(node);
  connecting.catch(() => undefined); // reported by ssh.connect below
  const connected = await runCheck(CHECKS.ssh, node.name, o.connectDeadlineMs, connectFix, async () => {
    await connecting;
    return pass(`connected to ${where}`);
  });
  group.results.push(connected);
  const checks = nodeCheckList(inv, node);
  if (connected.status !== "pass") {
    // A connection that completes after its deadline must still be closed, or it keeps the process alive.
    void connecting.then(
      (h) => h.close(),
      () => undefined,
    );
    for (const c of checks)
      group.results.push({
        name: c.name,
        scope: node.name,
        ...skip(`not checked: ${node.name} is unreachable (${CHECKS.ssh})`),
      });
    return group;
  }
  group.host = await connecting;

  const started = Date.now();
  const facts = readNodeFacts(new FactCache(group.host), node.role, inv.cluster.dataPath).then((f) => {
    group.facts = f;
    o.log?.("verify-read", { node: node.name, facts: forLog(f) });
    return f;
  });
  facts.catch(() => undefined); // each check below reports a failed read
  const fix =
    inv.ssh.user === "root"
      ? `rerun \`powerstack verify\`; the run log holds what the read printed on ${node.name}`
      : `the read runs as root through sudo: check that ${inv.ssh.user} may sudo on ${node.name}`;
  for (const c of checks) {
    const r = await runCheck(
      c.name,
      node.name,
      Math.max(1_000, o.readDeadlineMs - (Date.now() - started)),
      fix,
      async () => c.decide(await facts),
    );
    group.results.push(r);
  }
  return group;
}

/** The facts for the run log: values as read, a failed read as its message (an Error has no JSON). */
function forLog(f: NodeFacts): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(f).map(([k, s]) => [k, "error" in s ? { error: describeError(s.error) } : s]),
  );
}

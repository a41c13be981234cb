/**
 * Kepler's Redfish credentials, from the inventory's BMCs and the vault, in the file format of each Kepler
 * line. They reach the cluster only as a Kubernetes Secret applied over stdin (never Helm values, never a
 * file on a node, never a command line).
 *
 *  - current (0.10+): `redfish.yaml`, `nodes: {<k8s node>: <bmc id>}` and `bmcs: {<id>: {endpoint,
 *    username, password, insecure}}` (Kepler's docs/user/experimental/redfish).
 *  - legacy (0.7.x): `redfish.csv`, one `nodename,username,password,https://bmc` line per node; Kepler
 *    matches column 0 to the pod's node name and needs every column non-empty.
 */
import { stringify } from "yaml";
import { InputError } from "../../src/errors.js";
import type { BmcSpec, Inventory, NodeSpec } from "../../src/inventory/types.js";
import { bmcUsername } from "../../src/redfish/from-inventory.js";

export interface RedfishPlan {
  enabled: boolean;
  /** Nodes whose BMC Kepler reads (empty when disabled). */
  nodes: Array<NodeSpec & { bmc: BmcSpec }>;
  /** Why Redfish is off although some nodes have a BMC. */
  why?: string;
}

const withBmc = (inv: Inventory) => inv.nodes.filter((n): n is NodeSpec & { bmc: BmcSpec } => !!n.bmc);

/** `major.minor.patch` as numbers, for comparing chart versions (`0.11.4`, `v0.11.4`). */
function semver(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}
const atLeast = (v: string, min: [number, number, number]) => {
  const a = semver(v);
  for (let i = 0; i < 3; i++) if (a[i] !== min[i]) return a[i]! > min[i]!;
  return true;
};

/**
 * Which nodes Kepler reads BMCs for, by the Kepler version the chart deploys (current line: chart version =
 * Kepler version; sustainable-computing-io/kepler, cmd/kepler/main.go `createServices`):
 *  - below 0.11.0: no Redfish support at all (no internal/platform/redfish before v0.11.0);
 *  - 0.11.0 - 0.11.3: a node missing from the Redfish file stops Kepler on that node ("failed to create
 *    Redfish service"), and one file serves every node: Redfish is on only when EVERY node has a BMC;
 *  - 0.11.4 and later: the same error is logged as a warning ("Redfish service unavailable, continuing
 *    without platform power monitoring") and the node runs on: Redfish for the nodes that have a BMC.
 * Legacy Kepler (0.7.x) skips nodes without a CSV row: on for the nodes that have one.
 */
export function redfishPlan(inv: Inventory): RedfishPlan {
  const nodes = withBmc(inv);
  if (nodes.length === 0) return { enabled: false, nodes: [] };
  const { flavour, chartVersion } = inv.cluster.kepler;
  if (flavour === "legacy") return { enabled: true, nodes };
  if (!atLeast(chartVersion, [0, 11, 0]))
    return {
      enabled: false,
      nodes: [],
      why: `Kepler ${chartVersion} has no Redfish support (it came in 0.11.0)`,
    };
  if (nodes.length < inv.nodes.length && !atLeast(chartVersion, [0, 11, 4])) {
    const missing = inv.nodes.filter((n) => !n.bmc).map((n) => n.name);
    return {
      enabled: false,
      nodes: [],
      why: `${missing.join(", ")} ${missing.length === 1 ? "has" : "have"} no bmc, and Kepler ${chartVersion} (0.11.0-0.11.3) stops on a node missing from its Redfish file; 0.11.4 and later keep platform power for the others`,
    };
  }
  return { enabled: true, nodes };
}

export const redfishNodes = (inv: Inventory) => redfishPlan(inv).nodes;

const endpoint = (bmc: BmcSpec) => bmc.address.replace(/\/+$/, "");
export const bmcId = (node: NodeSpec) => `${node.name}-bmc`;

/**
 * Neither Kepler line can be given a CA: a BMC the inventory trusts through `ca_file` is reached without
 * certificate verification by Kepler (powerstack's own Redfish checks still verify it).
 */
const skipVerify = (bmc: BmcSpec) => bmc.insecure || !!bmc.caFile;

export function currentRedfishFile(plan: RedfishPlan, secret: (key: string) => string): string {
  return stringify({
    nodes: Object.fromEntries(plan.nodes.map((n) => [n.name, bmcId(n)])),
    bmcs: Object.fromEntries(
      plan.nodes.map((n) => [
        bmcId(n),
        {
          endpoint: endpoint(n.bmc),
          username: bmcUsername(n.bmc, secret),
          password: secret(n.bmc.passwordSecret),
          insecure: skipVerify(n.bmc),
        },
      ]),
    ),
  });
}

export function legacyRedfishCsv(plan: RedfishPlan, secret: (key: string) => string): string {
  return plan.nodes
    .map((n) => {
      const cols = [n.name, bmcUsername(n.bmc, secret), secret(n.bmc.passwordSecret), endpoint(n.bmc)];
      const names = [
        "node name",
        n.bmc.usernameSecret !== undefined ? `the user in vault key ${n.bmc.usernameSecret}` : "bmc.username",
        `the password in vault key ${n.bmc.passwordSecret}`,
        "bmc.address",
      ];
      cols.forEach((c, i) => {
        // Never the value itself in the message: it may be the password.
        if (c === "" || /[,\r\n]/.test(c))
          throw new InputError(
            `node ${n.name}: ${names[i]} ${c === "" ? "is empty" : "holds a comma or a line break"}, which legacy Kepler's redfish.csv cannot carry`,
            "change that value, or use the current Kepler line (cluster.kepler.flavour: current)",
          );
      });
      return cols.join(",");
    })
    .join("\n")
    .concat("\n");
}

/** Legacy Kepler has one switch for every BMC: verification is skipped if any BMC needs it. */
export const legacySkipVerify = (plan: RedfishPlan) => plan.nodes.some((n) => skipVerify(n.bmc));

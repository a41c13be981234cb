/**
 * A node's BMC over Redfish, from the operator's machine: reachable, credentials valid, a power reading
 * available, and IPMI over LAN on where the inventory asks. The BMC's state is a local fact (a read-only
 * look); the one action is switching IPMI over LAN on, read back after the PATCH.
 */
import { defineFact } from "../engine/fact.js";
import { PowerstackError } from "../errors.js";
import type { Module } from "../engine/types.js";
import { readBmc, switchIpmiOn, type BmcState } from "../redfish/bmc-check.js";
import type { RedfishClient } from "../redfish/client.js";

export interface BmcParams {
  /** The BMC's address (keys the fact: one look per BMC per run). */
  address: string;
  /** Makes a client for this node's BMC (credentials from the vault). */
  client: () => RedfishClient;
  enableIpmi: boolean;
}

async function withClient<T>(p: BmcParams, use: (c: RedfishClient) => Promise<T>): Promise<T> {
  const client = p.client();
  try {
    return await use(client);
  } finally {
    await client.close(); // logs the session out: BMCs allow few (XCC: 16)
  }
}

export const bmcState = defineFact<BmcState, BmcParams>({
  name: "bmc",
  key: (p) => `${p.address} ipmi=${p.enableIpmi}`,
  local: (p) => withClient(p, (c) => readBmc(c, { enableIpmi: p.enableIpmi })),
});

export type BmcAction = { kind: "enable-ipmi"; path: string; summary: string };

export const bmc: Module<BmcParams, { bmc: BmcState }, BmcAction> = {
  name: "bmc",
  reads: (p) => ({ bmc: bmcState.of(p) }),
  plan({ bmc: seen }) {
    if (seen.failure) throw new PowerstackError(seen.failure.message, undefined, seen.failure.fix);
    return seen.ipmiOff ? [{ kind: "enable-ipmi", path: seen.ipmiOff.path, summary: seen.summary }] : [];
  },
  describe: (a) => `${a.summary}, enable IPMI over LAN (PATCH ${a.path})`,
  touches: (_a, p) => [bmcState.of(p)],
  async apply(_ctx, _actions, p) {
    await withClient(p, switchIpmiOn);
  },
};

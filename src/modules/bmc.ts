/**
 * A node's BMC over Redfish, from the operator's machine: reachable, credentials valid, a power reading
 * available, and IPMI over LAN on where the inventory asks. The probe is the check in read-only mode;
 * apply runs it for real (the one write it may do is the IPMI PATCH) and replaces the planned summary
 * ("would enable") with what it did ("enabled").
 */
import { PowerstackError } from "../errors.js";
import type { Module } from "../engine/types.js";
import { checkBmc, type BmcCheckResult } from "../redfish/bmc-check.js";
import type { RedfishClient } from "../redfish/client.js";

export interface BmcParams {
  /** Makes a client for this node's BMC (credentials from the vault). */
  client: () => RedfishClient;
  enableIpmi: boolean;
}

async function withClient(p: BmcParams, check: boolean): Promise<BmcCheckResult> {
  const client = p.client();
  try {
    return await checkBmc(client, { enableIpmi: p.enableIpmi, check });
  } finally {
    await client.close(); // logs the session out: BMCs allow few (XCC: 16)
  }
}

export const bmc: Module<BmcParams, BmcCheckResult> = {
  name: "bmc",
  probe: (p) => ({ local: () => withClient(p, true) }),
  plan(seen) {
    if (seen.status === "failed") throw new PowerstackError(seen.msg);
    return seen.status === "changed" ? [{ summary: seen.msg }] : [];
  },
  async apply(_ctx, p, changes) {
    const r = await withClient(p, false);
    if (r.status === "failed") throw new PowerstackError(r.msg);
    // The plan's summary is the probe's check-mode text ("would enable ..."); after a real run the task
    // result must say what was done ("enabled ..."). The runner records this same list after apply.
    changes.splice(0, changes.length, { summary: r.msg });
  },
};

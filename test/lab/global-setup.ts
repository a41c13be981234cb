/**
 * vitest globalSetup of the `lab` project: one lab for all `*.lab.test.ts` files (they run one after
 * another). Tests read it with `labInfo()` from ./lab-info.js (POWERSTACK_LAB_JSON names lab.json).
 *
 *   POWERSTACK_LAB_KEEP=1   leave the lab up afterwards (inspect with `npx tsx test/lab/cli.ts status`)
 *   POWERSTACK_LAB_REUSE=1  use the lab that is already up instead of a fresh one (and leave it up):
 *                           fast iteration, but disks and nodes keep what earlier runs did to them
 *   POWERSTACK_LAB_NODES=N  nodes n01..nNN instead of ctl, w1, w2
 *
 * The run holds the lab: a second run on the same machine waits for it (POWERSTACK_LAB_WAIT_SEC, default
 * 1800) instead of replacing the lab under its tests.
 */
import { currentLabInfo, labDown, labStatus, labUp } from "./lab.js";
import { LAB_JSON } from "./files.js";

export default async function setup(): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      "the lab project needs root (network namespaces, loop devices, systemd-nspawn); run it as root, or run `--project unit`",
    );
  }
  const reuse = process.env.POWERSTACK_LAB_REUSE === "1";
  const status = labStatus();
  if (reuse && status?.complete && status.nodes.every((n) => n.running) && currentLabInfo()) {
    process.stderr.write("[lab] POWERSTACK_LAB_REUSE=1: using the lab that is up\n");
  } else {
    const nodes = process.env.POWERSTACK_LAB_NODES ? Number(process.env.POWERSTACK_LAB_NODES) : undefined;
    await labUp({ nodes, hold: true, waitSec: Number(process.env.POWERSTACK_LAB_WAIT_SEC ?? 1800) });
  }
  process.env.POWERSTACK_LAB_JSON = LAB_JSON;
  return async () => {
    if (reuse || process.env.POWERSTACK_LAB_KEEP === "1") {
      process.stderr.write(`[lab] kept up; remove it with: npx tsx test/lab/cli.ts down\n`);
      return;
    }
    await labDown();
  };
}

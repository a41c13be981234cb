/**
 * vitest globalSetup of the `vm` project: builds the image (cached in /var/cache/powerstack-lab/vm) and boots
 * the two VMs once for every `*.vm.test.ts` file (they run one after another), then removes them.
 * Tests read the lab with `vmInfo()` from ./vm-info.js (POWERSTACK_VM_JSON names the run's vm.json).
 *
 *   POWERSTACK_VM_KEEP=1   leave the VMs up afterwards (`npx tsx test/lab/vm/cli.ts ssh ctl`, then `... down`)
 */
import { VM_JSON_ENV } from "./vm-info.js";
import { destroyRun, releaseRun, vmJsonPath, vmUp } from "./vm-lab.js";

export default async function setup(): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      "the vm project needs root (guard route, image cache, QEMU); run it as root, or run `--project unit`",
    );
  }
  const info = await vmUp({ hold: true, what: "vitest --project vm" });
  process.env[VM_JSON_ENV] = vmJsonPath(info.runDir);
  process.stderr.write(
    `[vm] image ${info.timings.imageBuildSec ? `built in ${info.timings.imageBuildSec.toFixed(0)} s` : "from cache"}, ` +
      `VMs ssh-ready in ${info.timings.bootSec.toFixed(1)} s (setup ${info.timings.upSec.toFixed(1)} s)\n`,
  );
  return async () => {
    if (process.env.POWERSTACK_VM_KEEP === "1") {
      releaseRun(info.runDir);
      process.stderr.write(`[vm] kept up (${info.runDir}); remove with: npx tsx test/lab/vm/cli.ts down\n`);
      return;
    }
    await destroyRun(info.runDir);
  };
}

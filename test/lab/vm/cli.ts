/**
 * The tier-2 VM lab for people (as root): `npx tsx test/lab/vm/cli.ts <command>`.
 *
 *   up                      build the image (cached) and boot ctl + worker; they stay up
 *   down [--force]          remove every VM lab not held by a running test (with --force: all), and stale ones
 *   status [--json]         the running labs
 *   ssh <vm> [command...]   a shell or a command on a VM of the newest lab (root, strict host keys)
 */
import { spawnSync } from "node:child_process";
import { Command } from "commander";
import { LabError } from "../exec.js";
import { runningLabs, vmDown, vmUp } from "./vm-lab.js";

const program = new Command("vm-lab")
  .description("powerstack tier-2 lab: two QEMU VMs (ctl, worker) with the Debian kernel (needs root)")
  .enablePositionalOptions();

program
  .command("up")
  .description("boot a fresh VM lab (ctl + worker)")
  .action(async () => {
    const info = await vmUp({ hold: false, what: "cli up" });
    console.log(
      `VM lab up in ${info.timings.upSec.toFixed(1)} s (boot ${info.timings.bootSec.toFixed(1)} s)`,
    );
    for (const v of info.vms)
      console.log(
        `  ${v.name.padEnd(7)} ${v.role.padEnd(8)} ${v.labIp.padEnd(11)} ssh 127.0.0.1:${v.sshPort}  pid ${v.pid}`,
      );
    console.log(`ssh:     npx tsx test/lab/vm/cli.ts ssh ctl   (or ssh -F ${info.sshConfigFile} ctl)`);
    console.log(`vm.json: ${info.runDir}/vm.json`);
  });

program
  .command("down")
  .description("remove VM labs (not one a running test holds, unless --force) and whatever a crash left")
  .option("--force", "also labs held by a running test")
  .action(async (o: { force?: boolean }) => {
    const t = Date.now();
    const removed = await vmDown(undefined, { force: o.force });
    console.log(
      `${removed.length ? removed.join(", ") : "no VM lab"} removed in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );
  });

program
  .command("status")
  .description("show the running VM labs")
  .option("--json", "VmInfo of each lab as JSON")
  .action((o: { json?: boolean }) => {
    const labs = runningLabs();
    if (o.json) {
      console.log(
        JSON.stringify(
          labs.map((l) => l.info),
          null,
          2,
        ),
      );
      return;
    }
    if (labs.length === 0) {
      console.log("no VM lab is up");
      process.exitCode = 1;
      return;
    }
    for (const { state, info } of labs) {
      console.log(
        `${info.runDir}  ${state.owner ? `held by pid ${state.owner.pid} (${state.owner.what})` : "kept"}`,
      );
      for (const v of info.vms)
        console.log(`  ${v.name.padEnd(7)} ${v.labIp.padEnd(11)} ssh 127.0.0.1:${v.sshPort}  pid ${v.pid}`);
    }
  });

program
  .command("ssh <vm> [command...]")
  .description("ssh to a VM of the newest lab as root (interactive without a command)")
  .passThroughOptions()
  .action((vm: string, command: string[]) => {
    const lab = runningLabs().at(-1);
    if (!lab) throw new LabError("no VM lab is up: run `up` first");
    const args = [
      "-F",
      lab.info.sshConfigFile,
      ...(command.length === 0 ? ["-t"] : []),
      vm,
      ...(command.length ? [command.join(" ")] : []),
    ];
    const r = spawnSync("ssh", args, { stdio: "inherit" });
    process.exitCode = r.status ?? 1;
  });

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`vm-lab: ${err.message}`);
  process.exitCode = err instanceof LabError ? 1 : 2;
});

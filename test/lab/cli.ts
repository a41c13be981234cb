/**
 * The lab for people: `npm run lab -- up` (after `npm run build`) or `npx tsx test/lab/cli.ts up`.
 *
 *   up [--nodes N | --names a,b,c]   a fresh lab (replaces a running one, unless a test run holds it)
 *   down [--force]                   remove it
 *   status [--json]                  what is up
 *   ssh <node> [command...]          a shell or a command on a node (root, strict host keys)
 */
import { spawnSync } from "node:child_process";
import { Command } from "commander";
import { LabError } from "./exec.js";
import { SSH_CONFIG } from "./files.js";
import { currentLabInfo, labDown, labStatus, labUp } from "./lab.js";

const program = new Command("lab")
  .description(
    "powerstack tier-1 lab: Debian nodes in systemd-nspawn containers, reachable over SSH (needs root)",
  )
  .enablePositionalOptions();

program
  .command("up")
  .description("bring up a fresh lab: ctl, w1, w2 by default")
  .option("-n, --nodes <count>", "N nodes named n01..nNN", (v) => Number(v))
  .option("--names <list>", "comma-separated node names (the first is the control node)")
  .option("--wait <seconds>", "wait this long for a lab that a test run is using", (v) => Number(v), 0)
  .option("--force", "replace the lab even while a test run is using it")
  .action(async (o: { nodes?: number; names?: string; wait: number; force?: boolean }) => {
    const t = Date.now();
    const info = await labUp({
      nodes: o.nodes,
      names: o.names?.split(",").filter(Boolean),
      waitSec: o.wait,
      force: o.force,
    });
    const secs = ((Date.now() - t) / 1000).toFixed(1);
    console.log(`lab up in ${secs} s`);
    for (const n of info.nodes)
      console.log(
        `  ${n.name.padEnd(14)} ${n.ip.padEnd(12)} /dev/vdb=${n.loopDevice}  nspawn pid ${n.nspawnPid}`,
      );
    console.log(`inventory: ${info.inventoryFile}`);
    console.log(
      `ssh:       npx tsx test/lab/cli.ts ssh ${info.nodes[0]!.name}   (or ssh -F ${info.sshConfigFile} ${info.nodes[0]!.name})`,
    );
    console.log(`lab.json:  ${info.runDir}/lab.json`);
  });

program
  .command("down")
  .description("remove the lab (also what a crashed run left)")
  .option("--force", "even while a test run is using it")
  .action(async (o: { force?: boolean }) => {
    const t = Date.now();
    await labDown({ force: o.force });
    console.log(`lab down in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  });

program
  .command("status")
  .description("show the lab's nodes")
  .option("--json", "LabInfo as JSON")
  .action((o: { json?: boolean }) => {
    const s = labStatus();
    if (!s) {
      console.log("no lab is up");
      process.exitCode = 1;
      return;
    }
    if (o.json) {
      console.log(JSON.stringify(currentLabInfo() ?? null, null, 2));
      return;
    }
    console.log(
      `lab ${s.complete ? "up" : "INCOMPLETE (run `down`)"} since ${s.createdAt}; apt relays running: ${s.relaysRunning}`,
    );
    for (const n of s.nodes) {
      console.log(
        `  ${n.name.padEnd(14)} ${n.ip.padEnd(12)} ${n.running ? "running" : "STOPPED"}  pid ${n.nspawnPid ?? "-"}  disk ${n.loopDevice ?? "-"}`,
      );
    }
    if (s.nodes.some((n) => !n.running)) process.exitCode = 1;
  });

program
  .command("ssh <node> [command...]")
  .description("ssh to a node as root (interactive without a command)")
  .passThroughOptions()
  .action((node: string, words: string[]) => {
    const status = labStatus();
    if (!status?.complete) throw new LabError("no lab is up: run `up` first");
    if (!status.nodes.some((n) => n.name === node)) {
      throw new LabError(
        `no node \`${node}\` in the lab (nodes: ${status.nodes.map((n) => n.name).join(", ")})`,
      );
    }
    const command = words[0] === "--" ? words.slice(1) : words;
    const args = [
      "-F",
      SSH_CONFIG,
      ...(command.length === 0 ? ["-t"] : []),
      node,
      ...(command.length ? [command.join(" ")] : []),
    ];
    const r = spawnSync("ssh", args, { stdio: "inherit" });
    process.exitCode = r.status ?? 1;
  });

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`lab: ${err.message}`);
  process.exitCode = err instanceof LabError ? 1 : 2;
});

/** Running commands on lab nodes with the real OpenSSH client, strict host key checking. */
import { run, type RunOptions, type RunResult } from "./exec.js";
import { labInfo, type LabInfo } from "./lab-info.js";

/** `ssh` options that reach `node` using only the LabInfo fields (no config file). */
export function sshOptions(info: LabInfo): string[] {
  return [
    "-i",
    info.keyFile,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `UserKnownHostsFile=${info.knownHostsFile}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `ProxyCommand=${info.proxyCommand}`,
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "LogLevel=ERROR",
  ];
}

/** Run `command` (a shell string) as root on `node` via the lab's ssh_config. Throws on non-zero exit unless allowFail. */
export function labSsh(
  node: string,
  command: string,
  opts: RunOptions & { info?: LabInfo } = {},
): Promise<RunResult> {
  const info = opts.info ?? labInfo();
  return run("ssh", ["-F", info.sshConfigFile, node, command], { timeoutMs: 120_000, ...opts });
}

/**
 * What tests and people get from `vmUp` (also `<run dir>/vm.json`), and the reader tests use:
 * `vmInfo()` reads the file named by POWERSTACK_VM_JSON, which test/lab/vm/global-setup.ts sets.
 */
import { existsSync, readFileSync } from "node:fs";

export interface VmNode {
  name: string;
  role: "control" | "worker";
  /** Address on the private lab link (eth1). */
  labIp: string;
  /** SSH from the host: 127.0.0.1 and this forwarded port. */
  sshHost: "127.0.0.1";
  sshPort: number;
  /** QEMU's pid (it survives guest reboots: QEMU resets in place). */
  pid: number;
  consoleLog: string;
  /** The spare 1 GiB disk as the guest sees it. */
  spareDisk: "/dev/vdb";
}

export interface VmInfo {
  id: string;
  runDir: string;
  /** Private key for root on every VM (in the image cache). */
  keyFile: string;
  /** `[127.0.0.1]:<port>` entries with each VM's own host keys: use strict checking. */
  knownHostsFile: string;
  /** OpenSSH client config with a Host entry per VM name (`ssh -F <file> ctl`). */
  sshConfigFile: string;
  subnet: string;
  mcast: { group: string; port: number };
  vms: VmNode[];
  timings: { imageBuildSec: number; bootSec: number; upSec: number };
}

export const VM_JSON_ENV = "POWERSTACK_VM_JSON";

export function vmInfo(): VmInfo {
  const file = process.env[VM_JSON_ENV];
  if (!file || !existsSync(file)) {
    throw new Error(
      `no VM lab: ${VM_JSON_ENV} ${file ? `names ${file}, which does not exist` : "is not set"}. VM tests run with ` +
        "`npx vitest run --project vm` (as root), whose globalSetup boots the VMs",
    );
  }
  return JSON.parse(readFileSync(file, "utf8")) as VmInfo;
}

export function vmNode(info: VmInfo, name: string): VmNode {
  const n = info.vms.find((v) => v.name === name);
  if (!n) throw new Error(`no VM named ${name} (VMs: ${info.vms.map((v) => v.name).join(", ")})`);
  return n;
}

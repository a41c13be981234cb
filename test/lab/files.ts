/** The files clients use: lab key, known_hosts, an OpenSSH config, the powerstack inventory and lab.json. */
import { renameSync, writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { PROXY_COMMAND, RUN_DIR, SUBNET } from "./config.js";
import type { NodeRecord } from "./state.js";
import type { LabInfo } from "./types.js";

export const KEY_FILE = `${RUN_DIR}/id_ed25519`;
export const KNOWN_HOSTS = `${RUN_DIR}/known_hosts`;
export const SSH_CONFIG = `${RUN_DIR}/ssh_config`;
export const INVENTORY = `${RUN_DIR}/inventory.yaml`;
export const VAULT = `${RUN_DIR}/vault.yaml`;
export const LAB_JSON = `${RUN_DIR}/lab.json`;

export function writeKnownHosts(keys: Map<string, string[]>, nodes: NodeRecord[]): void {
  const lines = nodes.flatMap((n) => (keys.get(n.name) ?? []).map((k) => `${n.ip},${n.name} ${k}`));
  writeFileSync(KNOWN_HOSTS, lines.join("\n") + "\n", { mode: 0o644 });
}

export function writeSshConfig(nodes: NodeRecord[]): void {
  const text = [
    "# OpenSSH client config for the powerstack lab: ssh -F " + SSH_CONFIG + " <node>",
    ...nodes.map((n) => `Host ${n.name}\n  HostName ${n.ip}`),
    "Host *",
    "  User root",
    `  IdentityFile ${KEY_FILE}`,
    "  IdentitiesOnly yes",
    `  UserKnownHostsFile ${KNOWN_HOSTS}`,
    "  GlobalKnownHostsFile /dev/null",
    "  StrictHostKeyChecking yes",
    "  CheckHostIP no",
    `  ProxyCommand ${PROXY_COMMAND}`,
    "  BatchMode yes",
    "  ConnectTimeout 10",
    "  ServerAliveInterval 15",
    "  LogLevel ERROR",
    "",
  ];
  writeFileSync(SSH_CONFIG, text.join("\n"));
}

export function writeInventory(nodes: NodeRecord[]): void {
  const inv = {
    vault_file: VAULT,
    cluster: { name: "lab", nfs_network: SUBNET },
    ssh: {
      user: "root",
      key_file: KEY_FILE,
      known_hosts: "strict",
      known_hosts_file: KNOWN_HOSTS,
      proxy_command: PROXY_COMMAND,
    },
    nodes: nodes.map((n, i) => ({
      name: n.name,
      role: i === 0 ? "control" : "worker",
      internal_ip: n.ip,
      ssh_address: n.ip,
      ...(i === 0 ? { storage_disk: "/dev/vdb" } : {}),
    })),
  };
  writeFileSync(
    INVENTORY,
    "# powerstack inventory for the tier-1 lab (written by test/lab on every `lab up`)\n" + stringify(inv),
  );
}

export function labInfoOf(createdAt: string, nodes: NodeRecord[]): LabInfo {
  return {
    runDir: RUN_DIR,
    createdAt,
    keyFile: KEY_FILE,
    knownHostsFile: KNOWN_HOSTS,
    proxyCommand: PROXY_COMMAND,
    sshConfigFile: SSH_CONFIG,
    nodes: nodes.map((n) => ({
      name: n.name,
      ip: n.ip,
      disk: "/dev/vdb",
      loopDevice: n.loopDevice ?? "",
      nspawnPid: n.nspawnPid ?? 0,
    })),
    inventoryFile: INVENTORY,
    vaultFile: VAULT,
    subnet: SUBNET,
  };
}

export function writeLabJson(info: LabInfo): void {
  const tmp = `${LAB_JSON}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(info, null, 2) + "\n");
  renameSync(tmp, LAB_JSON); // readers never see half a file
}

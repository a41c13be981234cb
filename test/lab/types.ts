/** What tests and people get back from `labUp` (also `<run dir>/lab.json`). */
export interface LabNode {
  name: string;
  ip: string;
  /** The spare disk as the node sees it. */
  disk: "/dev/vdb";
  /** The host's loop device behind it. */
  loopDevice: string;
  /** The host pid of this node's systemd-nspawn (changes on `restartNode`). */
  nspawnPid: number;
}

export interface LabInfo {
  runDir: string;
  /** When this lab was brought up (ISO time): its disks and overlays are newer. */
  createdAt: string;
  /** Private key for root on every node. */
  keyFile: string;
  /** Every node's host keys, by IP and by name: use strict host key checking. */
  knownHostsFile: string;
  /** `ip netns exec labsw nc %h %p`: how the root namespace reaches 10.77.0.0/24. */
  proxyCommand: string;
  /** OpenSSH client config with a Host entry per node name (`ssh -F <file> ctl`). */
  sshConfigFile: string;
  nodes: LabNode[];
  /** A powerstack inventory for the lab. */
  inventoryFile: string;
  /** Where the inventory expects the vault; tests write it. */
  vaultFile: string;
  subnet: string;
}

/**
 * The inventory, after validation and defaults. Field names mirror the YAML keys (snake_case there,
 * camelCase here); `src/inventory/schema.ts` is the one mapping between the two.
 *
 * Secrets are never in the inventory: a `*_secret` key names an entry of the vault, and `resolveSecrets`
 * turns the names into values before any host is contacted.
 */

export type NodeRole = "control" | "worker";
export type KeplerFlavour = "current" | "legacy";
export type K3sInstallMode = "online" | "airgap";
/** `strict`: host must be in known_hosts; `accept-new`: learn unknown hosts, refuse changed keys; `off`: no check. */
export type HostKeyPolicy = "strict" | "accept-new" | "off";

export interface BmcSpec {
  /** Base URL of the BMC, e.g. `https://10.0.1.10`. */
  address: string;
  /**
   * The BMC user as the inventory writes it; or `usernameSecret`, the vault key holding it (as the Ansible
   * setup keeps it). The loader lets exactly one of the two through; `bmcUsername` (redfish/) reads either.
   */
  username?: string;
  usernameSecret?: string;
  /** Vault key holding the BMC password. */
  passwordSecret: string;
  /** Accept a self-signed certificate for this BMC (default false; prefer `caFile`). */
  insecure: boolean;
  /** PEM file of a CA (or the BMC's own certificate) to trust. */
  caFile?: string;
  /** Enable IPMI over LAN through Redfish when it is off. */
  ipmiOverLan: boolean;
  /** `system_id`: the computer system this node is, on a BMC listing several. */
  systemId?: string;
  /** `timeout_sec`: deadline of one Redfish request (unset: the client's default, 10 s). */
  timeoutSec?: number;
  /** `retries`: retries of a transient failure (unset: the client's default, 1). */
  retries?: number;
}

export interface NodeSpec {
  name: string;
  role: NodeRole;
  /** Where SSH connects: defaults to externalIp. */
  sshAddress: string;
  sshPort: number;
  /** Address on the cluster's internal network: k3s node-ip, NFS. */
  internalIp: string;
  /** Public/operator-facing address: k3s tls-san, kubeconfig server, NodePorts. */
  externalIp: string;
  /** Control node only: the empty disk that becomes the BTRFS data filesystem. */
  storageDisk?: string;
  bmc?: BmcSpec;
  /** Network interface for flannel on this node (overrides the cluster default). */
  flannelIface?: string;
  /** K3s `node-label` entries (`key=value`), registered with the node. */
  labels: string[];
  /** K3s `node-taint` entries (`key=value:Effect`). */
  taints: string[];
}

export interface SshSettings {
  user: string;
  port: number;
  /** Private key file; when absent the ssh-agent (SSH_AUTH_SOCK) is used. */
  keyFile?: string;
  knownHosts: HostKeyPolicy;
  knownHostsFile: string;
  /** Vault key of the sudo password when `user` is not root and sudo asks for one. */
  becomePasswordSecret?: string;
  /** `[user@]host[:port]` of a bastion to tunnel through. */
  jumpHost?: string;
  /** OpenSSH-style ProxyCommand (`%h`, `%p` substituted), run on the operator's machine. */
  proxyCommand?: string;
  connectTimeoutSec: number;
  /** Attempts to connect before a host counts as unreachable. */
  connectRetries: number;
}

export interface VolumeSpec {
  /** PersistentVolume capacity, Kubernetes quantity (e.g. `50Gi`). */
  size: string;
  /** PersistentVolumeClaim request; defaults to `size`, must not exceed it. */
  claim: string;
}

export interface ClusterSettings {
  name: string;
  /** CIDR of the internal network: NFS export restriction; internal IPs must be inside it. */
  nfsNetwork: string;
  dataPath: string;
  /** Label of the BTRFS filesystem powerstack makes; how it recognises its own disk on a rerun. */
  dataLabel: string;
  perfEventParanoid: number;
  k3s: {
    version: string;
    install: K3sInstallMode;
    /** Local directory with `k3s`, `install.sh` and `sha256sum-amd64.txt` for air-gapped installs. */
    artifactsDir?: string;
    tokenSecret: string;
    flannelIface?: string;
    /** Packaged components the server leaves out (`traefik`, `servicelb`, ...). */
    disable: string[];
    /** Extra server certificate names besides every server's external IP. */
    tlsSan: string[];
    /** Extra kubelet flags, `name=value` without the dashes, on every node. */
    kubeletArgs: string[];
  };
  helm: { version: string };
  volumes: Record<MonitoringService, VolumeSpec>;
  nodePorts: Record<MonitoringService, number>;
  monitoring: {
    chartVersion: string;
    namespace: string;
    retention: string;
    scrapeInterval: string;
    grafanaAdminUser: string;
    grafanaAdminPasswordSecret: string;
    slackWebhookSecret?: string;
    slackChannel?: string;
    /** Helm values merged last over powerstack's (key paths checked against the chart's defaults). */
    extraValues: Record<string, unknown>;
  };
  kepler: {
    flavour: KeplerFlavour;
    chartVersion: string;
    namespace: string;
    /** Helm values merged last over powerstack's (key paths checked against the chart's defaults). */
    extraValues: Record<string, unknown>;
  };
  carbon: {
    /** Grid carbon intensity in gCO2e/kWh used by `energy` and `measure`. */
    gridIntensityGPerKwh: number;
  };
  /**
   * `cluster.registry_mirror` (`host[:port]`): where an air-gapped cluster pulls `powerstack experiment`'s
   * images. Each is rewritten to `<mirror>/<repository path>@sha256:...`, the same digest, so the mirror
   * must serve those exact digests (copied, not rebuilt).
   */
  registryMirror?: string;
  /** `cluster.rancher`: cert-manager, then Rancher, by Helm at pinned versions; nothing runs when off. */
  rancher: RancherSettings;
  /** `cluster.power`: the idle policy of `powerstack power idle`. */
  power: {
    /** Workers that stay on whatever their load (default 1). */
    minWorkersOn: number;
    /** How long a worker must have been idle before it is powered off, as written (default `30m`). */
    idleFor: string;
    /** Namespaces whose pods never make a worker busy (default kube-system, monitoring's and Kepler's). */
    systemNamespaces: string[];
  };
}

export interface RancherSettings {
  enabled: boolean;
  /** The name Rancher answers at through K3s' Traefik Ingress; required when enabled. */
  hostname?: string;
  /** Vault key of the first admin password (Rancher reads it only when it creates the admin user). */
  bootstrapPasswordSecret: string;
  /** Rancher chart version (one of the pinned, tested ones). */
  version: string;
}

export type MonitoringService = "prometheus" | "grafana" | "alertmanager";
export const MONITORING_SERVICES: readonly MonitoringService[] = ["prometheus", "grafana", "alertmanager"];

export interface Inventory {
  /** Absolute path of the file this came from: every error names it. */
  file: string;
  /** The vault this inventory's `*_secret` keys refer to (absolute). */
  vaultFile: string;
  cluster: ClusterSettings;
  ssh: SshSettings;
  nodes: NodeSpec[];
}

/** Groups a play or `--limit` can name, besides node names. */
export type GroupName = "all" | "control" | "workers";

/**
 * Which Ansible variables mean what in a powerstack inventory. The names are the ones found in K3s
 * playbooks in the wild (k3s-ansible, the research cluster's playbooks, Redfish/IPMI roles), matched by
 * exact name first and then by shape (`<service>_custom_nodeport`, `pv_size_<service>`...), in any case
 * (`BMC_ip`, `grafanaAdminPassword`). Every variable ends up taken over, needing input or ignored with a
 * reason: none is dropped silently.
 */
import { DEFAULTS } from "../../inventory/schema.js";
import type { Path } from "../../inventory/schema-walker.js";
import { MONITORING_SERVICES, type MonitoringService } from "../../inventory/types.js";
import type { Secrets } from "../draft.js";
import { splitArgs } from "./k3s-args.js";

export type SecretSlot = Exclude<keyof Secrets, "bmc"> | "bmc";

/**
 * `value`: the inventory's value; `error`: the value is unusable, reported as ignored with this reason;
 * `input`: the value says something powerstack cannot tell apart, so the key must be entered.
 */
export type Convert = (
  value: unknown,
) => { value: unknown; note?: string } | { error: string } | { input: string };

export type Target =
  /** A per-node key, relative to `nodes[i]`. */
  | { to: "node"; path: Path; convert?: Convert }
  /**
   * A key of the whole inventory (cluster.*, ssh.*): one value for all hosts. With `merge`, the converted
   * value is a mapping whose keys are set one by one under `path` (keys already there are kept). `alongside`:
   * keys set with the value once it is taken (`cluster.rancher.enabled: true` with Rancher's host name).
   */
  | { to: "cluster"; path: Path; convert?: Convert; merge?: true; alongside?: Array<[Path, unknown]> }
  /** A secret value: goes to the vault, never to the inventory. */
  | { to: "secret"; slot: SecretSlot }
  /** Raw K3s command-line flags, parsed flag by flag (k3s-args.ts), for the hosts of `role`. */
  | { to: "k3sArgs"; role: "control" | "worker" | "any" }
  /** Known, deliberately not imported, with the reason. */
  | { to: "ignored"; why: string };

const bool = (v: unknown): boolean | undefined => {
  if (typeof v === "boolean") return v;
  if (typeof v === "string" && /^(yes|true|on|1)$/i.test(v)) return true;
  if (typeof v === "string" && /^(no|false|off|0)$/i.test(v)) return false;
  if (v === 1 || v === 0) return v === 1;
  return undefined;
};

const toBool: Convert = (v) => {
  const b = bool(v);
  return b === undefined ? { error: "not a yes/no value" } : { value: b };
};

/** `validate_certs: false` means `insecure: true`. */
const invertedBool: Convert = (v) => {
  const b = bool(v);
  return b === undefined ? { error: "not a yes/no value" } : { value: !b };
};

/** Redfish needs TLS: a bare BMC host or IP becomes `https://host`. */
const bmcUrl: Convert = (v) => {
  if (typeof v !== "string" && typeof v !== "number") return { error: "not a single value" };
  const s = String(v).trim();
  return /^[a-z]+:\/\//i.test(s) ? { value: s } : { value: `https://${s}`, note: "https:// added" };
};

/**
 * The OpenSSH options in ansible_ssh_common_args that powerstack has keys for: `-J` / ProxyJump, ProxyCommand,
 * UserKnownHostsFile and StrictHostKeyChecking (yes → strict, accept-new, no → off). Other options
 * (ControlMaster, ciphers…) do not change where or whom we connect to, and are left out with a note.
 */
const sshCommonArgs: Convert = (v) => {
  if (typeof v !== "string") return { error: "not a single value" };
  const words = splitArgs(v);
  const ssh: Record<string, string> = {};
  const skipped: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "-J" || w.startsWith("-J")) {
      ssh.jump_host = w === "-J" ? (words[++i] ?? "") : w.slice(2);
      continue;
    }
    if (w !== "-o" && !w.startsWith("-o")) {
      skipped.push(w);
      continue;
    }
    const option = w === "-o" ? (words[++i] ?? "") : w.slice(2);
    const m = /^\s*(\w+)\s*[= ]\s*(.*)$/.exec(option);
    const [name, value] = m ? [m[1]!.toLowerCase(), m[2]!.trim()] : ["", ""];
    if (name === "proxyjump") ssh.jump_host = value;
    else if (name === "proxycommand") ssh.proxy_command = value;
    else if (name === "userknownhostsfile") ssh.known_hosts_file = value;
    else if (name === "stricthostkeychecking") {
      const policy = { yes: "strict", "accept-new": "accept-new", no: "off", off: "off" }[
        value.toLowerCase()
      ];
      if (policy) ssh.known_hosts = policy;
      else skipped.push(option);
    } else skipped.push(option);
  }
  if (Object.keys(ssh).length === 0)
    return { error: "holds no ProxyJump, ProxyCommand, UserKnownHostsFile or StrictHostKeyChecking setting" };
  return {
    value: ssh,
    note: `as ${Object.keys(ssh)
      .map((k) => `ssh.${k}`)
      .join(", ")}${skipped.length ? `; not used: ${skipped.join(" ")}` : ""}`,
  };
};

/** NodePorts written as text (`"30003"`) are still numbers. */
const toInt: Convert = (v) => {
  if (typeof v === "number" && Number.isInteger(v)) return { value: v };
  if (typeof v === "string" && /^\d+$/.test(v.trim())) return { value: Number(v.trim()) };
  return { error: "is not a whole number" };
};

/**
 * The Kepler chart repository says which Kepler line runs: the `kepler-helm-chart` repository publishes the
 * legacy 0.7.x chart (the original research cluster's); the chart of Kepler 0.10+ lives in the kepler
 * repository itself.
 */
const keplerLine: Convert = (v) => {
  const url = typeof v === "string" ? v.trim() : "";
  if (/kepler-helm-chart/i.test(url))
    return { value: "legacy", note: "a kepler-helm-chart repository: the legacy 0.7.x line" };
  if (/sustainable[-_]computing[-_]io/i.test(url) && /kepler/i.test(url))
    return { value: "current", note: "the chart of Kepler 0.10+" };
  return {
    input: `is not a Kepler chart repository powerstack knows (\`${url}\`), so which Kepler line runs is unknown`,
  };
};

/**
 * Rancher's host name, from a bare name or a URL (`rancher_url: https://rancher.lab/`); whether it is a DNS
 * name (an Ingress host, not an IP address) is the schema's to say, so the wizard asks again with its hint.
 */
const rancherHost: Convert = (v) => {
  if (typeof v !== "string") return { error: "not a single host name" };
  const s = v.trim();
  const host = s
    .replace(/^[a-z]+:\/\//i, "")
    .replace(/[/:].*$/, "")
    .toLowerCase();
  return host === s ? { value: host } : { value: host, note: `the host name of \`${s}\`` };
};

/** Only the Rancher chart powerstack pins and tests (vendor/charts); another one is an upgrade to review. */
const rancherVersion: Convert = (v) => {
  const s = String(v).trim().replace(/^v/, "");
  return s === DEFAULTS.rancherVersion
    ? { value: s }
    : {
        error: `is Rancher ${s}, but powerstack installs only the Rancher ${DEFAULTS.rancherVersion} chart it pins and tests (vendor/charts); moving Rancher to another release is an upgrade to review and carry out by hand after \`up\``,
      };
};

const node = (...path: Path): Target => ({ to: "node", path });
const cluster = (...path: Path): Target => ({ to: "cluster", path });
const secret = (slot: SecretSlot): Target => ({ to: "secret", slot });
const ignored = (why: string): Target => ({ to: "ignored", why });

const RANCHER_WHY =
  "a Rancher setting powerstack does not model: it installs the pinned Rancher chart its own way (one replica in cattle-system, Rancher's own CA); its settings are cluster.rancher.hostname and the bootstrap password";

/** The variables that name Rancher's host: importing one turns Rancher on. */
export const RANCHER_HOST_VARS = ["rancher_hostname", "rancher_host", "rancher_url"];
const BENCHMARK_WHY = "tooling of the research benchmarks, not part of the stack powerstack provisions";

const table: Array<[string[], Target]> = [
  // Per node.
  [["ansible_host", "ansible_ssh_host"], node("ssh_address")],
  [["ansible_port", "ansible_ssh_port"], node("ssh_port")],
  [["node_name", "k3s_node_name"], node("name")],
  [["internal_ip", "internal_address", "k3s_node_ip", "node_ip", "private_ip"], node("internal_ip")],
  [
    ["external_ip", "external_address", "k3s_external_ip", "node_external_ip", "public_ip"],
    node("external_ip"),
  ],
  [
    [
      "disk",
      "storage_disk",
      "btrfs_device",
      "btrfs_disk",
      "data_disk",
      "storage_device",
      "disk_for_persistent_storage",
      "persistent_storage_disk",
    ],
    node("storage_disk"),
  ],
  [
    ["disk_for_testing", "test_disk", "benchmark_disk"],
    ignored(
      "a disk for the research benchmarks; powerstack formats only the control node's data disk and leaves this one alone",
    ),
  ],
  [["flannel_iface", "k3s_flannel_iface"], node("flannel_iface")],
  [
    [
      "bmc_address",
      "bmc_ip",
      "bmc_host",
      "bmc_url",
      "redfish_host",
      "redfish_ip",
      "redfish_address",
      "redfish_url",
      "ipmi_address",
      "ipmi_ip",
      "ipmi_host",
      "xcc_ip",
      "xcc_address",
      "xclarity_ip",
      "xclarity_address",
      "idrac_ip",
      "ilo_ip",
    ],
    { to: "node", path: ["bmc", "address"], convert: bmcUrl },
  ],
  [
    [
      "bmc_user",
      "bmc_username",
      "redfish_user",
      "redfish_username",
      "ipmi_user",
      "ipmi_username",
      "xcc_user",
      "xcc_username",
      "xclarity_user",
      "xclarity_username",
    ],
    node("bmc", "username"),
  ],
  [
    [
      "bmc_password",
      "bmc_pass",
      "redfish_password",
      "redfish_pass",
      "ipmi_password",
      "ipmi_pass",
      "xcc_password",
      "xclarity_password",
    ],
    secret("bmc"),
  ],
  [["bmc_insecure", "redfish_insecure"], { to: "node", path: ["bmc", "insecure"], convert: toBool }],
  [
    ["bmc_validate_certs", "redfish_validate_certs", "redfish_verify_ssl", "bmc_verify_ssl"],
    { to: "node", path: ["bmc", "insecure"], convert: invertedBool },
  ],
  [
    ["ipmi_over_lan", "enable_ipmi", "ipmi_enabled"],
    { to: "node", path: ["bmc", "ipmi_over_lan"], convert: toBool },
  ],

  // The whole cluster.
  [["ansible_user", "ansible_ssh_user"], cluster("ssh", "user")],
  [["ansible_ssh_private_key_file", "ansible_private_key_file"], cluster("ssh", "key_file")],
  [["ansible_ssh_common_args"], { to: "cluster", path: ["ssh"], convert: sshCommonArgs, merge: true }],
  [
    ["ansible_become_password", "ansible_become_pass", "ansible_sudo_pass", "ansible_sudo_password"],
    secret("becomePassword"),
  ],
  [["cluster_name"], cluster("cluster", "name")],
  [["k3s_version"], cluster("cluster", "k3s", "version")],
  [["token", "k3s_token", "k3s_cluster_token", "cluster_token"], secret("k3sToken")],
  [["helm_version"], cluster("cluster", "helm", "version")],
  [
    [
      "export_path",
      "nfs_export_path",
      "nfs_export",
      "data_path",
      "mount_path",
      "btrfs_mount_path",
      "btrfs_mount_point",
      "data_mount",
    ],
    cluster("cluster", "data_path"),
  ],
  [
    ["nfs_network", "nfs_subnet", "nfs_allowed_network", "nfs_clients", "internal_network"],
    cluster("cluster", "nfs_network"),
  ],
  [["perf_event_paranoid"], cluster("cluster", "perf_event_paranoid")],
  [["grafana_admin_user", "grafana_user"], cluster("cluster", "monitoring", "grafana_admin_user")],
  [["grafana_admin_password", "grafana_password"], secret("grafanaAdminPassword")],
  [
    ["slack_webhook", "slack_webhook_url", "slack_api_url", "alertmanager_slack_webhook"],
    secret("slackWebhook"),
  ],
  [["slack_channel", "alertmanager_slack_channel"], cluster("cluster", "monitoring", "slack_channel")],
  [["prometheus_retention", "retention"], cluster("cluster", "monitoring", "retention")],
  [["prometheus_scrape_interval", "scrape_interval"], cluster("cluster", "monitoring", "scrape_interval")],
  [
    ["kube_prometheus_stack_version", "monitoring_chart_version", "prometheus_chart_version"],
    cluster("cluster", "monitoring", "chart_version"),
  ],
  [
    ["monitoring_namespace", "prometheus_namespace", "kube_prometheus_stack_namespace"],
    cluster("cluster", "monitoring", "namespace"),
  ],
  [["kepler_flavour", "kepler_flavor"], cluster("cluster", "kepler", "flavour")],
  [["kepler_chart_version"], cluster("cluster", "kepler", "chart_version")],
  [["kepler_namespace"], cluster("cluster", "kepler", "namespace")],
  [
    ["kepler_repo_url", "kepler_repo", "kepler_chart_repo", "kepler_helm_repo", "kepler_repository"],
    { to: "cluster", path: ["cluster", "kepler", "flavour"], convert: keplerLine },
  ],

  // K3s command-line flags: parsed one by one.
  [["extra_server_args"], { to: "k3sArgs", role: "control" }],
  [["extra_agent_args"], { to: "k3sArgs", role: "worker" }],
  [["extra_args"], { to: "k3sArgs", role: "any" }],

  // Known and not needed.
  [
    [
      "ansible_connection",
      "ansible_python_interpreter",
      "ansible_become",
      "ansible_become_method",
      "ansible_become_user",
      "ansible_ssh_pipelining",
      "ansible_shell_type",
    ],
    ignored(
      "Ansible connection detail: powerstack connects over SSH itself (sudo when the user is not root)",
    ),
  ],
  [
    [
      "api_endpoint",
      "api_port",
      "k3s_server_location",
      "systemd_dir",
      "user_kubectl",
      "cluster_context",
      "kubeconfig",
      "k3s_become",
    ],
    ignored(
      "k3s-ansible plumbing that powerstack derives itself (API address from the control node, kubeconfig context `powerstack`)",
    ),
  ],
  [
    ["control_node_name", "master_node_name", "server_node_name"],
    ignored("powerstack takes the control node from the server (master) group"),
  ],
  [
    ["server_config_yaml", "agent_config_yaml"],
    ignored(
      "raw K3s configuration: powerstack writes /etc/rancher/k3s/config.yaml itself; a setting it does not model goes in a drop-in /etc/rancher/k3s/config.yaml.d/*.yaml on the node",
    ),
  ],
  [
    ["storageclass_name", "storage_class_name", "storage_class", "storageclass"],
    ignored(
      "powerstack names its NFS StorageClass `powerstack-nfs` and binds each service's claim to its own volume by name; the class name is not a setting",
    ),
  ],
  [
    ["storageclass_size", "storage_class_size"],
    ignored(
      "a StorageClass has no size in Kubernetes; what is sized are the per-service volumes (cluster.volumes)",
    ),
  ],
  [
    ["storage_accessmode", "storage_access_mode", "access_mode"],
    ignored("powerstack's per-service volumes are each used by one service (ReadWriteOnce); not a setting"),
  ],
  [
    ["pv_name", "pvc_name", "persistent_volume_name", "persistent_volume_claim_name"],
    ignored(
      "powerstack names the volumes `powerstack-<service>` and their claims itself, one directory per service under cluster.data_path",
    ),
  ],
  [
    ["monitoring_stack_repo_url", "prometheus_repo_url", "prometheus_community_repo", "monitoring_repo_url"],
    ignored(
      "powerstack installs kube-prometheus-stack from its pinned chart (cluster.monitoring.chart_version), not from a repository named in the inventory",
    ),
  ],
  [
    RANCHER_HOST_VARS,
    {
      to: "cluster",
      path: ["cluster", "rancher", "hostname"],
      convert: rancherHost,
      alongside: [[["cluster", "rancher", "enabled"], true]],
    },
  ],
  [
    ["bootstrap_password", "rancher_bootstrap_password", "rancher_password", "rancher_admin_password"],
    secret("rancherBootstrapPassword"),
  ],
  [
    ["rancher_version", "rancher_chart_version"],
    { to: "cluster", path: ["cluster", "rancher", "version"], convert: rancherVersion },
  ],
  [
    ["cert_manager_version", "cert_manager_chart_version", "certmanager_version"],
    ignored(
      `powerstack installs cert-manager ${DEFAULTS.certManagerVersion}, the release it pins for Rancher; not a setting`,
    ),
  ],
  [["k_bench_repo", "perf_tests_repo", "kube_burner_version", "k_bench_version"], ignored(BENCHMARK_WHY)],
  [["kubectl_version"], ignored("powerstack installs no separate kubectl: K3s ships one (`k3s kubectl`)")],
  [
    ["extra_install_envs", "extra_service_envs"],
    ignored(
      "K3s installer/service environment: powerstack runs the installer itself with INSTALL_K3S_* pinned to the inventory",
    ),
  ],
  [["extra_manifests"], ignored("manifests applied by k3s-ansible; apply them with kubectl after `up`")],
  [
    ["airgap_dir"],
    ignored(
      "k3s-ansible's air-gap images directory; powerstack's is cluster.k3s.artifacts_dir with install: airgap, see README: Air-gapped installs",
    ),
  ],
  [
    ["registries_config_yaml"],
    ignored("powerstack does not write /etc/rancher/k3s/registries.yaml; keep the file on the nodes by hand"),
  ],
];

const byName = new Map<string, Target>(
  table.flatMap(([names, target]) => names.map((n): [string, Target] => [n, target])),
);

const SERVICE = `(${MONITORING_SERVICES.join("|")})`;

/** Variables recognised by the shape of their name: a service name with what about it. */
const shapes: Array<[RegExp, (svc: MonitoringService) => Target]> = [
  [
    new RegExp(`^${SERVICE}_(custom_)?node_?port$|^(custom_)?node_?port_${SERVICE}$`),
    (svc) => ({ to: "cluster", path: ["cluster", "node_ports", svc], convert: toInt }),
  ],
  [
    new RegExp(
      `^${SERVICE}_(pv_size|volume_size|storage_size|storage|pv)$|^(pv_size|volume_size|pv)_${SERVICE}$`,
    ),
    (svc) => cluster("cluster", "volumes", svc, "size"),
  ],
  [
    new RegExp(`^${SERVICE}_(pvc_size|claim_size|pvc)$|^(pvc_size|claim_size|pvc)_${SERVICE}$`),
    (svc) => cluster("cluster", "volumes", svc, "claim"),
  ],
];

/** `grafanaAdminPassword` and `BMC_ip` are `grafana_admin_password` and `bmc_ip`. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

export function targetOf(varName: string): Target | undefined {
  const name = snakeCase(varName);
  const exact = byName.get(name);
  if (exact) return exact;
  for (const [re, make] of shapes) {
    const m = re.exec(name);
    const svc = m?.slice(1).find((g) => (MONITORING_SERVICES as readonly string[]).includes(g ?? ""));
    if (svc) return make(svc as MonitoringService);
  }
  if (/^rancher_/.test(name)) return ignored(RANCHER_WHY);
  if (/_namespace$/.test(name))
    return ignored(
      "a namespace of something powerstack does not deploy (its own are cluster.monitoring.namespace and cluster.kepler.namespace)",
    );
  return undefined;
}

/** Group names that mark a host's role (k3s-ansible's server/agent, the older master/node, and kin). */
export const CONTROL_GROUPS = [
  "server",
  "servers",
  "master",
  "masters",
  "control",
  "control_plane",
  "controlplane",
  "k3s_server",
  "k3s_servers",
  "k3s_master",
  "k3s_masters",
];
export const WORKER_GROUPS = [
  "agent",
  "agents",
  "node",
  "nodes",
  "worker",
  "workers",
  "k3s_agent",
  "k3s_agents",
  "k3s_node",
  "k3s_nodes",
  "k3s_worker",
  "k3s_workers",
];

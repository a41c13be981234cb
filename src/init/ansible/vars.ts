/**
 * Which Ansible variables mean what in a powerstack inventory. The names are the ones found in K3s
 * playbooks in the wild (k3s-ansible, the research cluster's playbooks, Redfish/IPMI roles); anything not
 * listed here is reported as unrecognised rather than dropped silently.
 */
import type { Path } from "../../inventory/schema-walker.js";
import type { Secrets } from "../draft.js";

export type SecretSlot = Exclude<keyof Secrets, "bmc"> | "bmc";

export type Convert = (value: unknown) => { value: unknown; note?: string } | { error: string };

export type Target =
  /** A per-node key, relative to `nodes[i]`. */
  | { to: "node"; path: Path; convert?: Convert }
  /** A key of the whole inventory (cluster.*, ssh.*): one value for all hosts. */
  | { to: "cluster"; path: Path; convert?: Convert }
  /** A secret value: goes to the vault, never to the inventory. */
  | { to: "secret"; slot: SecretSlot }
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

/** `-o ProxyJump=bastion` or `-J bastion` in ansible_ssh_common_args. */
const proxyJump: Convert = (v) => {
  const m = typeof v === "string" ? /(?:-o\s*ProxyJump[= ]|-J\s*)([^\s'"]+)/.exec(v) : null;
  return m ? { value: m[1] } : { error: "holds no ProxyJump (-J) setting, the only part powerstack uses" };
};

const node = (...path: Path): Target => ({ to: "node", path });
const cluster = (...path: Path): Target => ({ to: "cluster", path });
const secret = (slot: SecretSlot): Target => ({ to: "secret", slot });

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
    ["disk", "storage_disk", "btrfs_device", "btrfs_disk", "data_disk", "storage_device"],
    node("storage_disk"),
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
  [["ansible_ssh_common_args"], { to: "cluster", path: ["ssh", "jump_host"], convert: proxyJump }],
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
  ...(["prometheus", "grafana", "alertmanager"] as const).flatMap((svc): Array<[string[], Target]> => [
    [[`${svc}_nodeport`, `${svc}_node_port`], cluster("cluster", "node_ports", svc)],
    [
      [`${svc}_volume_size`, `${svc}_storage_size`, `${svc}_pv_size`, `${svc}_storage`],
      cluster("cluster", "volumes", svc, "size"),
    ],
    [[`${svc}_pvc_size`, `${svc}_claim_size`], cluster("cluster", "volumes", svc, "claim")],
  ]),
  [["grafana_admin_user", "grafana_user"], cluster("cluster", "monitoring", "grafana_admin_user")],
  [["grafana_admin_password", "grafana_password"], secret("grafanaAdminPassword")],
  [
    ["slack_webhook", "slack_webhook_url", "slack_api_url", "alertmanager_slack_webhook"],
    secret("slackWebhook"),
  ],
  [["slack_channel", "alertmanager_slack_channel"], cluster("cluster", "monitoring", "slack_channel")],
  [["prometheus_retention"], cluster("cluster", "monitoring", "retention")],
  [
    ["kube_prometheus_stack_version", "monitoring_chart_version", "prometheus_chart_version"],
    cluster("cluster", "monitoring", "chart_version"),
  ],
  [["kepler_flavour", "kepler_flavor"], cluster("cluster", "kepler", "flavour")],
  [["kepler_chart_version"], cluster("cluster", "kepler", "chart_version")],
  [["kepler_namespace"], cluster("cluster", "kepler", "namespace")],
  [["monitoring_namespace"], cluster("cluster", "monitoring", "namespace")],

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
    {
      to: "ignored",
      why: "Ansible connection detail: powerstack connects over SSH itself (sudo when the user is not root)",
    },
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
    {
      to: "ignored",
      why: "k3s-ansible plumbing that powerstack derives itself (API address from the control node, kubeconfig context `powerstack`)",
    },
  ],
  [
    ["extra_server_args", "extra_agent_args", "extra_args", "server_config_yaml", "agent_config_yaml"],
    {
      to: "ignored",
      why: "raw K3s flags: powerstack writes the K3s config itself (node-ip, tls-san, token); carry over any flag you still need by hand (e.g. --set cluster.k3s.flannel_iface=...)",
    },
  ],
];

const byName = new Map<string, Target>(
  table.flatMap(([names, target]) => names.map((n): [string, Target] => [n, target])),
);

export function targetOf(varName: string): Target | undefined {
  return byName.get(varName.toLowerCase());
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

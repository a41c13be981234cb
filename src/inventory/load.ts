/**
 * Load the one inventory file: parse YAML (syntax errors keep their line and column), check it against
 * the schema, run the checks that span several keys, and return a typed `Inventory`. Every problem is
 * collected, so one run shows the user all of them, each as `file:line:col: key: what. fix: how`.
 */
import { homedir } from "node:os";
import { resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { InputError } from "../errors.js";
import { readInputFile } from "../input-file.js";
import { KEPLER_CURRENT_RULES, KEPLER_LEGACY_RULES, KUBE_PROMETHEUS_STACK_RULES } from "../charts/rules.js";
import { checkExtraValues } from "./extra-values.js";
import { cidrContains, quantityToBytes } from "./network.js";
import { DEFAULTS, inventorySchema } from "./schema.js";
import { SourceMap, walk, type Problem } from "./schema-walker.js";
import {
  MONITORING_SERVICES,
  type BmcSpec,
  type ClusterSettings,
  type HostKeyPolicy,
  type Inventory,
  type KeplerFlavour,
  type K3sInstallMode,
  type NodeRole,
  type NodeSpec,
} from "./types.js";

export const DEFAULT_INVENTORY = "inventory/inventory.yaml";

export class InventoryError extends InputError {
  constructor(readonly problems: Problem[]) {
    super(
      problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.key}: ${p.message}\n  fix: ${p.fix}`).join("\n"),
    );
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the walker returns checked plain data */
type Raw = any;

export function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
}

export function loadInventory(path: string = DEFAULT_INVENTORY): Inventory {
  const { file, text } = readInputFile(
    path,
    "inventory",
    "pass -i <file>, or create one with `powerstack init` (see inventory/example.yaml)",
  );
  return parseInventory(text, file);
}

export function parseInventory(text: string, file: string): Inventory {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const src = new SourceMap(file, doc, lines);
  if (doc.errors.length > 0) {
    throw new InventoryError(
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return {
          file,
          line,
          col,
          key: "(yaml)",
          message: e.message.split("\n")[0]!,
          fix: "correct the YAML syntax here",
        };
      }),
    );
  }
  const raw = walk(inventorySchema, doc.toJS(), [], src) as Raw;
  if (src.problems.length === 0) crossChecks(raw, src);
  if (src.problems.length > 0) throw new InventoryError(src.problems);
  return toInventory(raw, file);
}

/** Checks that involve more than one key; run only once every key has the right type. */
function crossChecks(raw: Raw, src: SourceMap): void {
  const nodes: Raw[] = raw.nodes;
  const controls = nodes.filter((n) => n.role === "control");
  if (controls.length === 0) {
    src.report(
      ["nodes"],
      "no node has `role: control`",
      "mark exactly one node `role: control` (it runs the K3s server, NFS and storage)",
    );
  } else if (controls.length > 1) {
    src.report(
      ["nodes", nodes.indexOf(controls[1]), "role"],
      `more than one control node (${controls.map((n) => n.name).join(", ")})`,
      "powerstack runs a single K3s server: make the others `role: worker`",
    );
  }

  const seen = new Map<string, number>();
  const unique = (i: number, key: string, value: string | undefined, what: string) => {
    if (value === undefined) return;
    const id = `${key}=${value}`;
    const first = seen.get(id);
    if (first !== undefined) {
      src.report(
        ["nodes", i, key],
        `duplicate ${what} \`${value}\` (also nodes[${first}])`,
        `give every node its own ${what}`,
      );
    } else seen.set(id, i);
  };
  nodes.forEach((n, i) => {
    unique(i, "name", n.name, "name");
    unique(i, "internal_ip", n.internal_ip, "internal IP");
    if (n.internal_ip && !cidrContains(raw.cluster.nfs_network, n.internal_ip)) {
      src.report(
        ["nodes", i, "internal_ip"],
        `${n.internal_ip} is outside the NFS network ${raw.cluster.nfs_network}`,
        "use the node's address on the internal network, or widen `cluster.nfs_network`",
      );
    }
    if (n.role === "worker" && n.storage_disk) {
      src.report(
        ["nodes", i, "storage_disk"],
        "only the control node holds the data disk",
        "remove `storage_disk` from this worker",
      );
    }
    // The BMC user is in the inventory or in the vault: exactly one of the two keys.
    if (n.bmc && n.bmc.username === undefined && n.bmc.username_secret === undefined) {
      src.report(
        ["nodes", i, "bmc"],
        "required key `username` is missing",
        "add `username: <user>`, or `username_secret: <vault key>` when the vault holds the user",
      );
    } else if (n.bmc?.username !== undefined && n.bmc.username_secret !== undefined) {
      src.report(
        ["nodes", i, "bmc", "username_secret"],
        "`username` and `username_secret` both name the BMC user",
        "keep one: `username_secret` (the vault key holding the user) or `username`",
        "key",
      );
    }
    if (n.bmc?.insecure && n.bmc?.ca_file) {
      src.report(
        ["nodes", i, "bmc", "insecure"],
        "`insecure: true` and `ca_file` contradict each other",
        "keep `ca_file` (safer) and drop `insecure`",
      );
    }
  });
  if (controls.length === 1 && !controls[0].storage_disk) {
    src.report(
      ["nodes", nodes.indexOf(controls[0])],
      "the control node has no `storage_disk`",
      "name the empty disk for the data filesystem, preferably by /dev/disk/by-id/...",
    );
  }

  const ports = new Map<number, string>();
  for (const svc of MONITORING_SERVICES) {
    const port = raw.cluster.node_ports[svc];
    const other = ports.get(port);
    if (other) {
      src.report(
        ["cluster", "node_ports", svc],
        `NodePort ${port} is already used by ${other}`,
        "give each service its own NodePort",
      );
    }
    ports.set(port, svc);
    const vol = raw.cluster.volumes[svc];
    if (vol.claim && quantityToBytes(vol.claim) > quantityToBytes(vol.size)) {
      src.report(
        ["cluster", "volumes", svc, "claim"],
        `claim ${vol.claim} is larger than its volume ${vol.size}: the PVC would never bind`,
        `make \`claim\` at most ${vol.size}, or raise \`size\``,
      );
    }
  }

  const k3s = raw.cluster.k3s;
  if (k3s.install === "airgap" && !k3s.artifacts_dir) {
    src.report(
      ["cluster", "k3s", "install"],
      "air-gapped install needs `artifacts_dir`",
      "add `artifacts_dir:`, a directory holding the K3s release files (k3s or k3s-arm64, k3s-airgap-images-<arch>.tar.zst, sha256sum-<arch>.txt, install.sh), helm-<version>-linux-<arch>.tar.gz with its .sha256sum, and the charts' .tgz files (README: Air-gapped installs)",
    );
  }
  if (raw.cluster.rancher.enabled) {
    src.report(
      ["cluster", "rancher", "enabled"],
      "Rancher is not built into powerstack yet: `enabled: true` would be silently ignored",
      "remove `cluster.rancher` (or set `enabled: false`) and install Rancher with its own Helm chart after `up`",
    );
  }
  nodes.forEach((n, i) => {
    (n.labels as string[]).forEach((l, j) => {
      if (!/^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*$/.test(l))
        src.report(
          ["nodes", i, "labels", j],
          `\`${l}\` is not a node label`,
          "write `key=value`, e.g. `powerstack.io/rack=a1`",
        );
    });
    (n.taints as string[]).forEach((t, j) => {
      if (!/^[A-Za-z0-9./_-]+(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$/.test(t))
        src.report(
          ["nodes", i, "taints", j],
          `\`${t}\` is not a node taint`,
          "write `key=value:Effect` with Effect one of NoSchedule, PreferNoSchedule, NoExecute",
        );
    });
  });
  k3s.kubelet_args.forEach((a: string, j: number) => {
    if (a.startsWith("-") || !a.includes("="))
      src.report(
        ["cluster", "k3s", "kubelet_args", j],
        `\`${a}\` is not a kubelet argument as K3s takes it`,
        "write `name=value` without leading dashes, e.g. `max-pods=200`",
      );
  });
  const flavour = raw.cluster.kepler.flavour as KeplerFlavour;
  checkExtraValues(
    src,
    ["cluster", "monitoring", "extra_values"],
    raw.cluster.monitoring.extra_values,
    "kube-prometheus-stack",
    raw.cluster.monitoring.chart_version,
    KUBE_PROMETHEUS_STACK_RULES,
  );
  checkExtraValues(
    src,
    ["cluster", "kepler", "extra_values"],
    raw.cluster.kepler.extra_values,
    "kepler",
    raw.cluster.kepler.chart_version ?? DEFAULTS.keplerChartVersion[flavour],
    flavour === "current" ? KEPLER_CURRENT_RULES : KEPLER_LEGACY_RULES,
  );
  if (raw.ssh.jump_host && raw.ssh.proxy_command) {
    src.report(["ssh", "jump_host"], "`jump_host` and `proxy_command` are both set", "keep one of them");
  }
}

function toInventory(raw: Raw, file: string): Inventory {
  const c = raw.cluster;
  const flavour = c.kepler.flavour as KeplerFlavour;
  const cluster: ClusterSettings = {
    name: c.name,
    nfsNetwork: c.nfs_network,
    dataPath: c.data_path.replace(/\/+$/, "") || "/",
    dataLabel: c.data_label,
    perfEventParanoid: c.perf_event_paranoid,
    k3s: {
      version: c.k3s.version,
      install: c.k3s.install as K3sInstallMode,
      artifactsDir: c.k3s.artifacts_dir ? resolve(file, "..", expandHome(c.k3s.artifacts_dir)) : undefined,
      tokenSecret: c.k3s.token_secret,
      flannelIface: c.k3s.flannel_iface,
      disable: c.k3s.disable,
      tlsSan: c.k3s.tls_san,
      kubeletArgs: c.k3s.kubelet_args,
    },
    helm: { version: c.helm.version },
    volumes: Object.fromEntries(
      MONITORING_SERVICES.map((s) => [
        s,
        { size: c.volumes[s].size, claim: c.volumes[s].claim ?? c.volumes[s].size },
      ]),
    ) as ClusterSettings["volumes"],
    nodePorts: { ...c.node_ports },
    monitoring: {
      chartVersion: c.monitoring.chart_version,
      namespace: c.monitoring.namespace,
      retention: c.monitoring.retention,
      scrapeInterval: c.monitoring.scrape_interval,
      grafanaAdminUser: c.monitoring.grafana_admin_user,
      grafanaAdminPasswordSecret: c.monitoring.grafana_admin_password_secret,
      slackWebhookSecret: c.monitoring.slack_webhook_secret,
      slackChannel: c.monitoring.slack_channel,
      extraValues: c.monitoring.extra_values,
    },
    kepler: {
      flavour,
      chartVersion: c.kepler.chart_version ?? DEFAULTS.keplerChartVersion[flavour],
      namespace: c.kepler.namespace,
      extraValues: c.kepler.extra_values,
    },
    carbon: { gridIntensityGPerKwh: c.carbon.grid_intensity_g_per_kwh },
    rancher: { enabled: c.rancher.enabled, hostname: c.rancher.hostname },
    power: {
      minWorkersOn: c.power.min_workers_on,
      idleFor: c.power.idle_for,
      systemNamespaces: c.power.system_namespaces ?? [
        ...new Set(["kube-system", c.monitoring.namespace, c.kepler.namespace]),
      ],
    },
  };
  const s = raw.ssh;
  const nodes: NodeSpec[] = raw.nodes.map((n: Raw): NodeSpec => {
    const bmc: BmcSpec | undefined = n.bmc && {
      address: n.bmc.address.replace(/\/+$/, ""),
      ...(n.bmc.username_secret !== undefined
        ? { usernameSecret: n.bmc.username_secret }
        : { username: n.bmc.username }),
      passwordSecret: n.bmc.password_secret,
      insecure: n.bmc.insecure,
      caFile: n.bmc.ca_file ? resolve(file, "..", expandHome(n.bmc.ca_file)) : undefined,
      ipmiOverLan: n.bmc.ipmi_over_lan,
      ...(n.bmc.system_id !== undefined ? { systemId: n.bmc.system_id } : {}),
      ...(n.bmc.timeout_sec !== undefined ? { timeoutSec: n.bmc.timeout_sec } : {}),
      ...(n.bmc.retries !== undefined ? { retries: n.bmc.retries } : {}),
    };
    const externalIp = n.external_ip ?? n.internal_ip;
    return {
      name: n.name,
      role: n.role as NodeRole,
      sshAddress: n.ssh_address ?? externalIp,
      sshPort: n.ssh_port ?? s.port,
      internalIp: n.internal_ip,
      externalIp,
      storageDisk: n.storage_disk,
      bmc,
      flannelIface: n.flannel_iface ?? c.k3s.flannel_iface,
      labels: n.labels,
      taints: n.taints,
    };
  });
  return {
    file,
    // Relative to the inventory file, like every path in it; the default matches the project layout.
    vaultFile: resolve(file, "..", expandHome(raw.vault_file ?? "../vault/vault.yaml")),
    cluster,
    ssh: {
      user: s.user,
      port: s.port,
      keyFile: s.key_file ? resolve(file, "..", expandHome(s.key_file)) : undefined,
      knownHosts: s.known_hosts as HostKeyPolicy,
      knownHostsFile: resolve(file, "..", expandHome(s.known_hosts_file)),
      becomePasswordSecret: s.become_password_secret,
      jumpHost: s.jump_host,
      proxyCommand: s.proxy_command,
      connectTimeoutSec: s.connect_timeout,
      connectRetries: s.connect_retries,
    },
    nodes,
  };
}

/** Every vault key the inventory refers to, with the key path that names it (for errors). */
export function secretReferences(inv: Inventory): Array<{ secret: string; key: string; optional?: boolean }> {
  const refs: Array<{ secret: string; key: string; optional?: boolean }> = [
    {
      secret: inv.cluster.monitoring.grafanaAdminPasswordSecret,
      key: "cluster.monitoring.grafana_admin_password_secret",
    },
    // The K3s token may be absent: `up` generates it once and stores it back into the vault.
    { secret: inv.cluster.k3s.tokenSecret, key: "cluster.k3s.token_secret", optional: true },
  ];
  if (inv.cluster.monitoring.slackWebhookSecret) {
    refs.push({
      secret: inv.cluster.monitoring.slackWebhookSecret,
      key: "cluster.monitoring.slack_webhook_secret",
    });
  }
  if (inv.ssh.becomePasswordSecret)
    refs.push({ secret: inv.ssh.becomePasswordSecret, key: "ssh.become_password_secret" });
  inv.nodes.forEach((n, i) => {
    if (n.bmc?.usernameSecret !== undefined)
      refs.push({ secret: n.bmc.usernameSecret, key: `nodes[${i}].bmc.username_secret` });
    if (n.bmc) refs.push({ secret: n.bmc.passwordSecret, key: `nodes[${i}].bmc.password_secret` });
  });
  return refs;
}

/**
 * Load the one inventory file: parse YAML (syntax errors keep their line and column), check it against
 * the schema, run the checks that span several keys, and return a typed `Inventory`. Every problem is
 * collected, so one run shows the user all of them, each as `file:line:col: key: what. fix: how`.
 */
import { homedir } from "node:os";
import { resolve } from "node:path";
import { InputError } from "../errors.js";
import { mark } from "../timing.js";
import { formatBytes, notTextReason, readInputFile } from "../input-file.js";
import { closest } from "../closest.js";
import { KEPLER_CURRENT_RULES, KEPLER_LEGACY_RULES, KUBE_PROMETHEUS_STACK_RULES } from "../charts/rules.js";
import { checkExtraValues } from "./extra-values.js";
import { cidrContains, quantityToBytes } from "./network.js";
import { DEFAULTS, inventorySchema } from "./schema.js";
import { excerpt, SourceMap, walk, type Field, type Problem } from "./schema-walker.js";
import { parsePath } from "./field-check.js";
import { parseYaml } from "./yaml-source.js";
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

/**
 * An inventory describes a few dozen machines in a few KiB. Far past that it is the wrong file or a
 * generated one gone wrong, and parsing it would cost seconds and gigabytes: refused before reading.
 */
export const MAX_INVENTORY_BYTES = 1024 * 1024;
/**
 * Within that size, a file of short items (`[a,a,a,...]`) still makes half a million YAML nodes, seconds
 * and half a gigabyte to parse; lines plus commas bound the number of items, cheaply, before parsing.
 * A thousand-node inventory has about 20 000 lines.
 */
export const MAX_INVENTORY_ITEMS = 100_000;

export class InventoryError extends InputError {
  /** `problems`: the listed ones (at most MAX_LISTED_PROBLEMS); `unlisted`: how many more were found. */
  constructor(
    readonly problems: Problem[],
    readonly unlisted = 0,
  ) {
    super(
      problems
        .map((p) => `${p.file}:${p.line}:${p.col}: ${p.key}: ${p.message}\n  fix: ${p.fix}`)
        .join("\n") +
        (unlisted > 0 ? `\n... and ${unlisted} more problem(s), not listed: fix these first` : ""),
    );
  }
}

/** Parsed YAML, before the walker checks it: `any`, because each value is checked before it is returned typed. */
type Raw = any;

export function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
}

export function loadInventory(path: string = DEFAULT_INVENTORY): Inventory {
  mark("inventory:start");
  const { file, text } = readInputFile(
    path,
    "inventory",
    "pass -i <file>, or create one with `powerstack init` (see inventory/example.yaml)",
    { maxBytes: MAX_INVENTORY_BYTES, text: true },
  );
  const inventory = parseInventory(text, file);
  mark("inventory:end");
  return inventory;
}

/** Where each loaded inventory's keys are written, for errors found after loading (a missing vault key). */
const sources = new WeakMap<Inventory, SourceMap>();

/**
 * A problem at the key `key` (dotted, as `secretReferences` names it) of a loaded inventory: its file,
 * line and column, or those of its nearest written ancestor when the key takes its default.
 */
export function inventoryProblem(inv: Inventory, key: string, message: string, fix: string): Problem {
  const src = sources.get(inv);
  if (!src) return { file: inv.file, line: 1, col: 1, key, message, fix };
  const path = parsePath(key);
  // A defaulted key is reported at its nearest written ancestor, saying the value is the default.
  const said = src.isWritten(path) ? message : `${message} (the default: the key is not written)`;
  return { ...src.locate(path, said, fix, "key"), key };
}

export function parseInventory(text: string, file: string): Inventory {
  const size = Buffer.byteLength(text);
  if (size > MAX_INVENTORY_BYTES) {
    throw new InputError(
      `inventory ${file} is ${formatBytes(size)} (${size} bytes), over the ${formatBytes(MAX_INVENTORY_BYTES)} limit`,
      "is this the right file? an inventory is a few KiB",
    );
  }
  let items = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) items++;
  for (let i = text.indexOf(","); i >= 0; i = text.indexOf(",", i + 1)) items++;
  if (items > MAX_INVENTORY_ITEMS) {
    throw new InputError(
      `inventory ${file} has ${items} lines and commas, over the ${MAX_INVENTORY_ITEMS} limit: refused before parsing it`,
      "is this the right file? a thousand-node inventory has about 20000 lines",
    );
  }
  const notText = notTextReason(text);
  if (notText)
    throw new InputError(`inventory ${file} is not a text/YAML file: ${notText}`, "is this the right file?");
  const parsed = parseYaml(text, file);
  if (!parsed.ok) throw new InventoryError(parsed.problems, parsed.unlisted);
  const src = new SourceMap(file, parsed.doc, parsed.lines);
  const notInventory = notAnInventory(parsed.data);
  if (notInventory)
    throw new InventoryError([{ file, line: 1, col: 1, key: "(top level)", ...notInventory }]);
  const raw = walk(inventorySchema, parsed.data, [], src) as Raw;
  if (src.count === 0) crossChecks(raw, src);
  if (src.count > 0) throw new InventoryError(src.problems, src.unlisted);
  const inventory = toInventory(raw, file);
  sources.set(inventory, src);
  return inventory;
}

/**
 * Why a parsed file is not an inventory at all: empty, a single value (a password file given by mistake
 * parses as one string), a list, or a mapping none of whose keys is an inventory's. Said without quoting
 * anything of it.
 */
function notAnInventory(data: unknown): { message: string; fix: string } | undefined {
  const fix = "pass the inventory with -i (see inventory/example.yaml, or create one with `powerstack init`)";
  if (data === null || data === undefined) return { message: "the file is empty", fix };
  if (typeof data !== "object" || Array.isArray(data)) {
    const what = Array.isArray(data) ? "a list" : "a single value";
    return {
      message: `not an inventory: the file is ${what}, not a mapping of keys (content not shown)`,
      fix,
    };
  }
  const known = Object.keys((inventorySchema as Extract<Field, { kind: "object" }>).fields);
  const keys = Object.keys(data);
  if (keys.length > 0 && !keys.some((k) => known.includes(k) || closest(k, known))) {
    return {
      message: `not an inventory: none of its ${keys.length} top-level key(s) is one of ${known.join(", ")} (keys not shown)`,
      fix,
    };
  }
  return undefined;
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
  // One SSH target is one machine: two nodes reaching the same one would give it both nodes' roles.
  const targets = new Map<string, number>();
  nodes.forEach((n, i) => {
    const via =
      n.ssh_address !== undefined
        ? "ssh_address"
        : n.external_ip !== undefined
          ? "external_ip"
          : "internal_ip";
    const target = `${String(n[via]).toLowerCase()}:${n.ssh_port ?? raw.ssh.port}`;
    const first = targets.get(target);
    if (first === undefined) targets.set(target, i);
    // Both reached through their (same) internal IP: that duplicate is reported already.
    else if (
      via !== "internal_ip" ||
      nodes[first].ssh_address !== undefined ||
      nodes[first].external_ip !== undefined
    )
      src.report(
        ["nodes", i, via],
        `nodes \`${nodes[first].name}\` (nodes[${first}]) and \`${n.name}\` both connect to SSH ${target}: one machine would get both nodes' roles`,
        "give each node its own `ssh_address`, or its own `ssh_port` when several sit behind one address",
      );
  });
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
  checkRancher(src, raw);
  nodes.forEach((n, i) => {
    (n.labels as string[]).forEach((l, j) => {
      if (!/^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*$/.test(l))
        src.report(
          ["nodes", i, "labels", j],
          `\`${excerpt(l)}\` is not a node label`,
          "write `key=value`, e.g. `powerstack.io/rack=a1`",
        );
    });
    (n.taints as string[]).forEach((t, j) => {
      if (!/^[A-Za-z0-9./_-]+(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$/.test(t))
        src.report(
          ["nodes", i, "taints", j],
          `\`${excerpt(t)}\` is not a node taint`,
          "write `key=value:Effect` with Effect one of NoSchedule, PreferNoSchedule, NoExecute",
        );
    });
  });
  k3s.kubelet_args.forEach((a: string, j: number) => {
    if (a.startsWith("-") || !a.includes("="))
      src.report(
        ["cluster", "k3s", "kubelet_args", j],
        `\`${excerpt(a)}\` is not a kubelet argument as K3s takes it`,
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
    ...(c.registry_mirror !== undefined ? { registryMirror: c.registry_mirror } : {}),
    rancher: {
      enabled: c.rancher.enabled,
      hostname: c.rancher.hostname,
      bootstrapPasswordSecret: c.rancher.bootstrap_password_secret,
      version: c.rancher.version,
    },
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
  if (inv.cluster.rancher.enabled)
    refs.push({
      secret: inv.cluster.rancher.bootstrapPasswordSecret,
      key: "cluster.rancher.bootstrap_password_secret",
    });
  if (inv.ssh.becomePasswordSecret)
    refs.push({ secret: inv.ssh.becomePasswordSecret, key: "ssh.become_password_secret" });
  inv.nodes.forEach((n, i) => {
    if (n.bmc?.usernameSecret !== undefined)
      refs.push({ secret: n.bmc.usernameSecret, key: `nodes[${i}].bmc.username_secret` });
    if (n.bmc) refs.push({ secret: n.bmc.passwordSecret, key: `nodes[${i}].bmc.password_secret` });
  });
  return refs;
}

/**
 * `cluster.rancher` when enabled: the name Rancher answers at, and the Ingress controller that serves it
 * (the chart makes an Ingress; K3s' Traefik is the only controller powerstack sets up).
 */
function checkRancher(src: SourceMap, raw: Raw): void {
  const r = raw.cluster.rancher;
  if (!r.enabled) return;
  if (r.hostname === undefined)
    src.report(
      ["cluster", "rancher"],
      "required key `hostname` is missing: Rancher answers only at its host name",
      "add `hostname: rancher.<your domain>` (a name that resolves to a node's external IP; e.g. `rancher.192.0.2.11.sslip.io`)",
    );
  const disabled = (raw.cluster.k3s.disable as string[]).indexOf("traefik");
  if (disabled >= 0)
    src.report(
      ["cluster", "k3s", "disable", disabled],
      "Rancher is enabled but K3s' Traefik is disabled: nothing would serve Rancher's Ingress",
      "remove `traefik` from `cluster.k3s.disable`, or set `cluster.rancher.enabled: false`",
    );
}

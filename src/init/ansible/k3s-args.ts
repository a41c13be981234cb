/**
 * `extra_server_args` / `extra_agent_args`: the K3s command-line flags a k3s-ansible inventory passes,
 * split into flags and mapped one by one. The flags powerstack models become inventory keys; every other
 * flag is reported on its own with where it can go instead, since `up` rewrites /etc/rancher/k3s/config.yaml.
 */
import type { Path } from "../../inventory/schema-walker.js";

export interface K3sFlag {
  /** Without the dashes: `node-ip`. */
  name: string;
  /** Undefined for a switch (`--cluster-init`). */
  value?: string;
  /** As written, for the report: `--node-ip={{ hostvars[inventory_hostname]['internal_ip'] }}`. */
  text: string;
}

/** K3s switches (no value); any other flag followed by a word that is not a flag takes that word as its value. */
const SWITCHES = new Set([
  "cluster-init",
  "cluster-reset",
  "disable-network-policy",
  "disable-cloud-controller",
  "disable-kube-proxy",
  "disable-helm-controller",
  "disable-scheduler",
  "disable-apiserver",
  "disable-etcd",
  "disable-controller-manager",
  "secrets-encryption",
  "selinux",
  "protect-kernel-defaults",
  "flannel-ipv6-masq",
  "flannel-external-ip",
  "embedded-registry",
  "prefer-bundled-bin",
  "docker",
  "rootless",
  "debug",
  "etcd-expose-metrics",
  "etcd-disable-snapshots",
]);

/**
 * Split on blanks as a shell would, keeping quoted text and whole Jinja expressions (`{{ a['b'] }}`, which
 * hold blanks) together; quotes are removed.
 */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | undefined;
  let jinja = 0;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (jinja > 0) {
      if (text.startsWith("}}", i) || text.startsWith("%}", i)) {
        jinja--;
        cur += text.slice(i, i + 2);
        i++;
      } else cur += c;
      continue;
    }
    if (text.startsWith("{{", i) || text.startsWith("{%", i)) {
      jinja++;
      started = true;
      cur += text.slice(i, i + 2);
      i++;
      continue;
    }
    if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      started = true;
    } else if (/\s/.test(c)) {
      if (started) out.push(cur);
      cur = "";
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  if (started) out.push(cur);
  return out;
}

/** The flags in `text`; a word that is no flag (nor a flag's value) comes back with an empty name. */
export function parseK3sArgs(text: string): K3sFlag[] {
  const words = splitArgs(text);
  const flags: K3sFlag[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const m = /^--?([A-Za-z0-9][\w-]*)(?:=(.*))?$/s.exec(w);
    if (!m) {
      flags.push({ name: "", value: w, text: w });
      continue;
    }
    const name = m[1]!;
    if (m[2] !== undefined) {
      flags.push({ name, value: m[2], text: w });
      continue;
    }
    const next = words[i + 1];
    if (!SWITCHES.has(name) && next !== undefined && !next.startsWith("-")) {
      flags.push({ name, value: next, text: `${w} ${next}` });
      i++;
    } else flags.push({ name, text: w });
  }
  return flags;
}

export type FlagMeaning =
  /** One value of a node key (`nodes[i].<path>`). */
  | { kind: "node"; path: Path }
  /** Appended to a per-node list (labels, taints). */
  | { kind: "nodeList"; path: Path }
  /** Appended to a cluster list (`cluster.k3s.disable`); `split`: a comma-separated value is several. */
  | { kind: "clusterList"; path: Path; split?: boolean }
  | { kind: "token" }
  /** Something powerstack does itself: nothing to carry over, with why. */
  | { kind: "derived"; why: string }
  | { kind: "unmodelled" };

const MEANINGS: Record<string, FlagMeaning> = {
  "node-ip": { kind: "node", path: ["internal_ip"] },
  "node-external-ip": { kind: "node", path: ["external_ip"] },
  "node-name": { kind: "node", path: ["name"] },
  "flannel-iface": { kind: "node", path: ["flannel_iface"] },
  "node-label": { kind: "nodeList", path: ["labels"] },
  "node-taint": { kind: "nodeList", path: ["taints"] },
  "tls-san": { kind: "clusterList", path: ["cluster", "k3s", "tls_san"], split: true },
  disable: { kind: "clusterList", path: ["cluster", "k3s", "disable"], split: true },
  "kubelet-arg": { kind: "clusterList", path: ["cluster", "k3s", "kubelet_args"] },
  token: { kind: "token" },
  t: { kind: "token" },
  server: {
    kind: "derived",
    why: "powerstack points the agents at the control node's internal IP itself",
  },
  "write-kubeconfig-mode": {
    kind: "derived",
    why: "powerstack writes the server's kubeconfig with mode 0600 and merges it on the operator's machine (context `powerstack`)",
  },
  "cluster-init": {
    kind: "derived",
    why: "powerstack runs a single K3s server, so there is no embedded-etcd cluster to initialise",
  },
};

export function meaningOf(flag: string): FlagMeaning {
  return MEANINGS[flag] ?? { kind: "unmodelled" };
}

/** Flags whose value is a secret (a token, a datastore URL with its password): never printed. */
export function isSecretFlag(name: string): boolean {
  return /token|password|secret|datastore-endpoint|encryption/.test(name);
}

/** The flag as the report shows it: a secret value replaced. */
export function shownFlag(flag: K3sFlag): string {
  if (flag.value === undefined || !isSecretFlag(flag.name)) return flag.text;
  return flag.text.includes("=") ? `--${flag.name}=<hidden>` : `--${flag.name} <hidden>`;
}

/** Where a flag powerstack does not model can go: a K3s drop-in file, which `up` leaves alone. */
export function dropInAdvice(flag: K3sFlag, role: "control" | "worker"): string {
  const key = flag.name;
  const value =
    flag.value === undefined ? "true" : isSecretFlag(key) ? "<its value>" : JSON.stringify(flag.value);
  return `not modelled by powerstack (\`up\` rewrites /etc/rancher/k3s/config.yaml): put \`${key}: ${value}\` in /etc/rancher/k3s/config.yaml.d/50-site.yaml on the ${role === "control" ? "control node" : "workers"} (K3s merges drop-in files), then restart ${role === "control" ? "k3s" : "k3s-agent"}`;
}

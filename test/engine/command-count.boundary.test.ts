/**
 * BOUNDARY count of the remote commands of a no-op rerun of the FULL `up` (every play of playbooks/up.yaml,
 * cluster layer included): the real playbook, roles, modules and Runner, run twice against stand-in nodes;
 * the second run must change nothing, and its commands are counted per host and per play.
 *
 * Goal (issue 17): one batched probe per host per play, and one read of all cluster objects per play.
 * The bound asserted here is TODAY's count (printed by the test), so that nothing grows unnoticed; it is
 * to be tightened to the goal once the module contract rework lands.
 *
 * The nodes: each is a FakeControlNode (test/monitoring/fake-control-node.ts: files, directories,
 * Kubernetes objects and Helm releases, with the real `helm template` of the pinned charts) behind a small
 * model of the host layer, which no fake had: packages, the live sysctl, the data disk (already our BTRFS:
 * the filesystem module's own "nothing to do" case), mounts, systemd units, the K3s and Helm binaries,
 * the node list. Files those modules write (fstab, the sysctl drop-in, the K3s config, exports) are kept
 * by the FakeControlNode, so a rerun reads back what the first run wrote.
 */
import { startFakeGrafana, type FakeGrafana } from "../monitoring/fake-grafana.js";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { FACTS_SCRIPT } from "../../src/engine/facts.js";
import { filterRoles, loadPlaybook } from "../../src/engine/playbook.js";
import { runPlays } from "../../src/engine/run-plays.js";
import { Runner } from "../../src/engine/runner.js";
import type { TaskResult } from "../../src/engine/types.js";
import type { Inventory } from "../../src/inventory/types.js";
import { packageRoot } from "../../src/package-root.js";
import type { ExecOptions, ExecResult, Host } from "../../src/transport/host.js";
import { FakeControlNode } from "../monitoring/fake-control-node.js";
import { inventory, VAULT } from "../monitoring/fixtures.js";
import { requireCharts } from "../support/real-helm.js";

const haveCharts = requireCharts();

/** What a command is, as the goal counts it. */
type Kind = "facts" | "probe batch" | "cluster read" | "other";

const BATCH =
  /printf '\\n@@([0-9a-f]+):(\d+):begin\\n'; \( ([\s\S]*?)\n\) 2>(?:\/dev\/null|"\$E"); printf '\\n@@\1:\2:end:%d\\n' \$\?/g;
const CLUSTER_READ =
  /^(\[ -x \/usr\/local\/bin\/k3s \]|\/usr\/local\/bin\/k3s kubectl get |KUBECONFIG=\S+ \/usr\/local\/bin\/helm (list|history|status|get) )/;

function kindOf(command: string): Kind {
  if (command === FACTS_SCRIPT) return "facts";
  if (/printf '\\n@@[0-9a-f]+:0:begin\\n'/.test(command)) return "probe batch";
  if (CLUSTER_READ.test(command)) return "cluster read";
  return "other";
}

const q = (s: string) => [...s.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
const b64 = (s: string | undefined) => (s === undefined ? "" : Buffer.from(s).toString("base64"));

interface Sent {
  play: string;
  kind: Kind;
  command: string;
}

/**
 * The `k3s kubectl` and `helm` processes a batch starts on a healthy node: each is a client start-up on the
 * node (K3s' is the costly one). Not counted: `[ -x .../helm ]` (a shell test) and the `-o name 2>&1`
 * second call a kube-apply probe makes only when its first one failed (to report why).
 */
const CLUSTER_CALL = /(?:\/usr\/local\/bin\/)?k3s kubectl [^;|&)]*|\/usr\/local\/bin\/helm [a-z][^;|&)]*/g;
function clusterCalls(command: string): string[] {
  return [...command.matchAll(CLUSTER_CALL)].map((m) => m[0]).filter((c) => !/ -o name 2>$/.test(c));
}

/** Inside one probe batch: its probes, and the Kubernetes and Helm reads they start on the node. */
function batchContents(command: string): { probes: number; kubectl: number; helm: number } {
  const calls = clusterCalls(command);
  return {
    probes: [...command.matchAll(BATCH)].length,
    kubectl: calls.filter((c) => c.includes("kubectl")).length,
    helm: calls.filter((c) => c.includes("/helm ")).length,
  };
}

/** One node: the host layer modelled here, everything else (files, cluster, Helm) by a FakeControlNode. */
class UpNode implements Host {
  readonly sent: Sent[] = [];
  readonly inner: FakeControlNode;
  private readonly packages = new Set<string>();
  private readonly live = new Map<string, string>();
  private readonly mounts = new Map<string, string>();
  private k3s: string | undefined;
  private helm: string | undefined;

  constructor(
    readonly name: string,
    private readonly inv: Inventory,
    private readonly currentPlay: () => string,
  ) {
    this.inner = new FakeControlNode(name);
    // What K3s writes on the server: the kubeconfig role reads it (as a file, or with base64).
    this.inner.files.set("/etc/rancher/k3s/k3s.yaml", { content: KUBECONFIG, mode: "600" });
  }

  async close(): Promise<void> {}

  /** What the host facts script prints on a Debian 12 node (read alone, or inside a batch). */
  private facts(): string {
    return `@@os\nID=debian\nVERSION_ID="12"\n@@arch\nx86_64\n@@init\nsystemd\n@@hostname\n${this.name}\n`;
  }

  /** Every inventory node Ready. */
  private nodesJson(): string {
    const items = this.inv.nodes.map((n) => ({
      metadata: { name: n.name },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    }));
    return JSON.stringify({ items });
  }

  private get files() {
    return this.inner.files;
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.sent.push({ play: this.currentPlay(), kind: kindOf(command), command });
    if (command === FACTS_SCRIPT) return { code: 0, stdout: this.facts(), stderr: "" };
    if (kindOf(command) === "probe batch") {
      let out = "";
      for (const [, nonce, i, cmd] of command.matchAll(BATCH)) {
        const r = this.probe(cmd!);
        out += `\n@@${nonce}:${i}:begin\n${r.stdout}\n@@${nonce}:${i}:end:${r.code}\n`;
      }
      return { code: 0, stdout: out, stderr: "" };
    }
    return this.act(command) ?? this.inner.exec(command, opts);
  }

  private probe(cmd: string): { stdout: string; code: number } {
    if (cmd === FACTS_SCRIPT) return { stdout: this.facts(), code: 0 };
    let m = /^dpkg-query -W -f '\$\{Package\} \$\{db:Status-Abbrev\}\\n' ((?:'[^']*' ?)+)/.exec(cmd);
    if (m)
      return {
        stdout: q(m[1]!)
          .filter((p) => this.packages.has(p))
          .map((p) => `${p} ii \n`)
          .join(""),
        code: 0,
      };
    m = /^echo "live=\$\(cat '([^']+)' 2>\/dev\/null\)"; if \[ -f '([^']+)' \]/.exec(cmd);
    if (m)
      return {
        stdout: `live=${this.live.get(m[1]!) ?? "2"}\n${b64(this.files.get(m[2]!)?.content)}`,
        code: 0,
      };
    // A binary's output, or `@@absent` without the binary.
    m = /^if \[ -x (\S+) \]; then (.*); else echo '@@absent'; fi$/.exec(cmd);
    if (m) {
      const installed =
        m[1] === "/usr/local/bin/k3s" ? this.k3s : m[1] === "/usr/local/bin/helm" ? this.helm : undefined;
      if (!installed) return { stdout: "@@absent\n", code: 0 };
      if (m[2]!.includes("k3s --version")) return { stdout: `k3s version ${this.k3s} (0123abcd)\n`, code: 0 };
      if (m[2]!.includes("helm version")) return { stdout: `${this.helm}\n`, code: 0 };
      if (m[2]!.includes("kubectl get nodes -o json")) return { stdout: this.nodesJson(), code: 0 };
    }
    // The disk's signature: already our BTRFS (the filesystem module's "nothing to do").
    m = /^out=\$\(blkid -p -o export '([^']+)'\)/.exec(cmd);
    if (m) return { stdout: `TYPE=btrfs\nLABEL=${this.inv.cluster.dataLabel}\nUUID=2222\n`, code: 0 };
    m = /^out=\$\(findmnt -P -n -o SOURCE,FSTYPE,OPTIONS --mountpoint '([^']+)'\)/.exec(cmd);
    if (m) {
      const src = this.mounts.get(m[1]!);
      const line = (this.files.get("/etc/fstab")?.content ?? "")
        .split("\n")
        .find((l) => l.split(/\s+/)[1] === m![1]);
      const [, , fstype = "", options = ""] = line?.split(/\s+/) ?? [];
      return { stdout: src ? `SOURCE="${src}" FSTYPE="${fstype}" OPTIONS="${options}"\n` : "", code: 0 };
    }
    if (/^systemctl show( -p \w+)+ '[^']+'$/.test(cmd))
      return {
        stdout:
          "LoadState=loaded\nUnitFileState=enabled\nActiveState=active\nSubState=running\nNeedDaemonReload=no\n",
        code: 0,
      };
    // The live value alone (the drop-in is read as a file).
    m = /^p='(\/proc\/sys\/[^']+)'; if \[ -e "\$p" \]; then cat "\$p"; else echo '@@absent'; fi$/.exec(cmd);
    if (m) return { stdout: `${this.live.get(m[1]!) ?? "2"}\n`, code: 0 };
    m = /^d=\$\(readlink -f '([^']+)'\)/.exec(cmd);
    if (m) {
      const label = this.inv.cluster.dataLabel;
      const used = [...this.mounts].filter(([, src]) => src === m![1]).map(([p]) => p);
      return {
        stdout: `resolved=${m[1]}\nblock=yes\nsig=TYPE=btrfs LABEL=${label} UUID=2222 \nchildren=\ninuse=${used.join(" ")}\nnonzero=4096\n`,
        code: 0,
      };
    }
    m = /^echo "?uuid=(\$\(blkid -p -o export '([^']+)')?.*findmnt -n -o SOURCE --mountpoint '([^']+)'/.exec(
      cmd,
    );
    if (m) {
      const uuid = m[2] ? "2222" : "";
      return {
        stdout: `uuid=${uuid}\nmounted=${this.mounts.get(m[3]!) ?? ""}\n${b64(this.files.get("/etc/fstab")?.content)}\n`,
        code: 0,
      };
    }
    m = /^systemctl show -p LoadState,UnitFileState,ActiveState,NeedDaemonReload '([^']+)'$/.exec(cmd);
    if (m)
      return {
        stdout: "LoadState=loaded\nUnitFileState=enabled\nActiveState=active\nNeedDaemonReload=no\n",
        code: 0,
      };
    if (cmd.startsWith('echo "version=$(/usr/local/bin/k3s --version'))
      return {
        stdout: [
          `version=${this.k3s ? `k3s version ${this.k3s} (0123abcd)` : ""}`,
          `config=${b64(this.files.get("/etc/rancher/k3s/config.yaml")?.content)}`,
          `active=${this.k3s ? "active" : "inactive"}`,
        ].join("\n"),
        code: 0,
      };
    // The command module without a guard: it always runs (reload exports is a handler, run on a change).
    if (cmd === "echo run") return { stdout: "run\n", code: 0 };
    if (cmd.startsWith("/usr/local/bin/helm version --template")) return { stdout: this.helm ?? "", code: 0 };
    if (cmd === "base64 -w0 /etc/rancher/k3s/k3s.yaml 2>/dev/null")
      return { stdout: b64(KUBECONFIG), code: 0 };
    if (cmd === "k3s kubectl get nodes -o json 2>/dev/null") return { stdout: this.nodesJson(), code: 0 };
    // Files, directories, the cluster and Helm: the FakeControlNode (which throws on a probe it does not know).
    return (this.inner as unknown as { probe(c: string): { stdout: string; code: number } }).probe(cmd);
  }

  /** Host-layer commands that act; undefined: the FakeControlNode's. */
  private act(cmd: string): ExecResult | undefined {
    const ok = { code: 0, stdout: "", stderr: "" };
    let m = /apt-get .* install --no-install-recommends (.*)$/.exec(cmd);
    if (m) {
      q(m[1]!).forEach((p) => this.packages.add(p));
      return ok;
    }
    m = /^sysctl -q -w '([^=]+)=(.*)'$/.exec(cmd);
    if (m) {
      this.live.set(`/proc/sys/${m[1]!.replace(/\./g, "/")}`, m[2]!);
      return ok;
    }
    m = /^mkdir -p '[^']+' && mount -t '[^']+' -o '[^']+' '([^']+)' '([^']+)'$/.exec(cmd);
    if (m) {
      this.mounts.set(m[2]!, m[1]!);
      return ok;
    }
    m = /^mkdir -p '[^']+' && mount '([^']+)'$/.exec(cmd);
    if (m) {
      const line = (this.files.get("/etc/fstab")?.content ?? "")
        .split("\n")
        .find((l) => l.split(/\s+/)[1] === m![1]);
      if (!line) return { code: 32, stdout: "", stderr: `mount: ${m[1]}: can't find in /etc/fstab.` };
      this.mounts.set(m[1]!, line.split(/\s+/)[0]!);
      return ok;
    }
    m = /INSTALL_K3S_VERSION='([^']+)'/.exec(cmd);
    if (m) {
      this.k3s = m[1];
      return ok;
    }
    m = /\/tmp\/powerstack-helm-(v[^'/ ]+)/.exec(cmd);
    if (m) {
      this.helm = m[1];
      return ok;
    }
    if (/^(systemctl (daemon-reload|enable|start|restart)|exportfs -ra|mkdir -p '[^']+'$|true$)/.test(cmd))
      return ok;
    if (/apt-get [^|;&]* update$/.test(cmd)) return ok;
    return undefined;
  }
}

const KUBECONFIG = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0E=
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
  name: default
`;

let dir: string;
/** The control node, for Grafana's stand-in: the monitoring role logs in to Grafana from this machine. */
let control: UpNode | undefined;
let grafana: FakeGrafana | undefined;
let grafanaPort = 0;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "powerstack-command-count-"));
  // The kubeconfig role merges into the operator's kubeconfig: a file of this test's own.
  vi.stubEnv("KUBECONFIG", join(dir, "kubeconfig"));
  // Grafana behind its NodePort (test/monitoring/fake-grafana.ts): up once the release is.
  grafana = await startFakeGrafana(() => control?.inner);
  grafanaPort = grafana.port;
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await grafana?.close();
  if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
});

type Row = Partial<Record<Kind | "probes" | "kubectl" | "helm", number>>;

/**
 * Today's count of the second run, per host and play: remote commands by kind (facts are read once per
 * host, in its first play), and inside the probe batches the probes and the `k3s kubectl` and `helm`
 * processes they start on the node (each a K3s client start-up: the goal is one read of all cluster
 * objects per play).
 */
const TODAY: Record<string, Record<string, Row>> = {
  ctl: {
    // Two batches: the host facts are read on their own before the first play's tasks are built.
    Kernel: { "probe batch": 2, probes: 4 },
    "Storage and NFS server": { "probe batch": 1, probes: 11 },
    "K3s server": { "probe batch": 1, probes: 4 },
    "Cluster ready, Helm and kubeconfig": { "probe batch": 1, probes: 3, kubectl: 1, helm: 1 },
    // Goal: one read of all cluster objects. Today: 7 `kubectl get` (namespaces, storage objects, the
    // Grafana claim, two Secrets, the dashboards) and 4 `helm` (history and repo list, per release).
    "Cluster storage, monitoring and Kepler": { "probe batch": 1, probes: 8, kubectl: 7, helm: 4 },
  },
  w1: {
    Kernel: { "probe batch": 2, probes: 4 },
    "NFS clients": { "probe batch": 1, probes: 3 },
    "K3s agents": { "probe batch": 1, probes: 3 },
  },
};

test.skipIf(!haveCharts)(
  "a no-op rerun of the full up: commands per host and play (printed; bounded by today's count)",
  async () => {
    const inv = inventory({ bmcs: [] });
    inv.nodes.find((n) => n.role === "control")!.externalIp = "127.0.0.1";
    inv.cluster.nodePorts.grafana = grafanaPort;
    const plays = filterRoles(loadPlaybook(join(packageRoot(), "playbooks", "up.yaml")));
    let play = "";
    const nodes = new Map(inv.nodes.map((n) => [n.name, new UpNode(n.name, inv, () => play)]));
    for (const n of nodes.values()) n.inner.k3sInstalled = true;
    control = nodes.get(inv.nodes.find((n) => n.role === "control")!.name);

    const run = async () => {
      const results: TaskResult[] = [];
      const runner = new Runner({
        check: false,
        forks: 10,
        connect: async (h) => nodes.get(h)!,
        reporter: {
          playStart: (p) => void (play = p),
          taskResult: (r) => void results.push(r),
          playEnd() {},
        },
      });
      await runPlays(runner, plays, inv, {
        secret: (k) => VAULT[k]!,
        hasSecret: (k) => k in VAULT,
        storeSecret: async () => {},
      });
      await runner.close();
      return results;
    };

    const first = await run();
    expect(first.filter((r) => r.status === "failed").map((r) => `${r.host} ${r.task}: ${r.msg}`)).toEqual(
      [],
    );
    for (const n of nodes.values()) n.sent.length = 0;

    const second = await run();
    expect(
      second
        .filter((r) => r.status !== "ok" && r.status !== "skipped")
        .map((r) => `${r.host} ${r.task}: ${r.status} ${r.msg ?? ""}`),
    ).toEqual([]);

    const counts: Record<string, Record<string, Row>> = {};
    const lines: string[] = [];
    for (const [host, node] of nodes) {
      for (const s of node.sent) {
        const row = ((counts[host] ??= {})[s.play] ??= {});
        row[s.kind] = (row[s.kind] ?? 0) + 1;
        if (s.kind !== "probe batch") continue;
        for (const [k, v] of Object.entries(batchContents(s.command)) as Array<[keyof Row, number]>)
          if (v > 0) row[k] = (row[k] ?? 0) + v;
      }
      for (const [p, row] of Object.entries(counts[host] ?? {})) {
        lines.push(`${host.padEnd(4)} ${p.padEnd(40)} ${JSON.stringify(row)}`);
        for (const s of node.sent.filter((x) => x.play === p && x.kind !== "facts")) {
          if (s.kind !== "probe batch")
            lines.push(`       ${s.kind}: ${s.command.slice(0, 140).replace(/\n/g, " ")}`);
          // Each cluster read inside the batch, as a reviewer reads it.
          for (const c of clusterCalls(s.command)) lines.push(`       in the batch: ${c.slice(0, 150)}`);
        }
      }
    }
    console.log(`second run of the full up, remote commands per host and play:\n${lines.join("\n")}`);
    // The same hosts and plays as today, and no count above today's (lower is better: tighten TODAY then).
    expect(Object.keys(counts).sort()).toEqual(Object.keys(TODAY).sort());
    for (const [host, plays] of Object.entries(TODAY)) {
      expect(Object.keys(counts[host]!).sort(), host).toEqual(Object.keys(plays).sort());
      for (const [p, row] of Object.entries(plays))
        for (const k of new Set([...Object.keys(row), ...Object.keys(counts[host]![p]!)]) as Set<keyof Row>)
          expect(counts[host]![p]![k] ?? 0, `${host} / ${p} / ${k}`).toBeLessThanOrEqual(row[k] ?? 0);
    }
  },
  60_000,
);

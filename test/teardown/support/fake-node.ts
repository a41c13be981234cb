/**
 * A node for BOUNDARY tests of teardown: it records every command powerstack sends and answers from a
 * small model of the node (files, mounts, K3s, Helm releases, Kubernetes objects), so the real runner,
 * playbook, roles and modules can run a whole teardown, twice. K3s, Helm and Kubernetes cannot run in this
 * environment; what the host layer does for real is proven in the container lab (teardown.lab.test.ts).
 *
 * Probes arrive batched (src/engine/probe-batch.ts); each is answered on its own. A command the model
 * does not know fails the test: the recorded list IS the exact list of commands sent.
 */
import { FACTS_SCRIPT } from "../../../src/engine/facts.js";
import type { KubeItem } from "../../../src/modules/data-volumes-absent.js";
import type { ExecOptions, ExecResult, Host } from "../../../src/transport/host.js";

export interface NodeModel {
  /** Regular files by path. */
  files: Map<string, string>;
  dirs: Set<string>;
  /** Mount point -> source. */
  mounts: Map<string, string>;
  /** `namespace/name` of installed Helm releases. */
  releases: Set<string>;
  namespaces: Set<string>;
  /** PersistentVolumes, claims and StorageClasses. */
  objects: KubeItem[];
  /** K3s installed but its API does not answer. */
  apiDown?: boolean;
  /** `umount` fails (a busy mount). */
  umountBusy?: boolean;
}

export const K3S = "/usr/local/bin/k3s";
export const HELM = "/usr/local/bin/helm";

export function emptyModel(): NodeModel {
  return {
    files: new Map(),
    dirs: new Set(),
    mounts: new Map(),
    releases: new Set(),
    namespaces: new Set(),
    objects: [],
  };
}

/** Every command any fake node received, in order: the cross-host order of a run. */
export interface Sent {
  host: string;
  command: string;
  probe: boolean;
}

const BATCH =
  /printf '\\n@@([0-9a-f]+):(\d+):begin\\n'; \( ([\s\S]*?)\n\) 2>\/dev\/null; printf '\\n@@\1:\2:end:%d\\n' \$\?/g;
const q = (re: string) => new RegExp(re.replace(/Q/g, "'([^']*)'"));

export class FakeNode implements Host {
  constructor(
    readonly name: string,
    readonly model: NodeModel,
    private readonly sent: Sent[],
  ) {}

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (command === FACTS_SCRIPT)
      return { code: 0, stdout: `@@init\nsystemd\n@@hostname\n${this.name}\n`, stderr: "" };
    const probes = [...command.matchAll(BATCH)];
    if (probes.length > 0) {
      this.sent.push({ host: this.name, command: "(probes)", probe: true });
      const stdout = probes
        .map(([, nonce, i, cmd]) => {
          const r = this.probe(cmd!);
          return `\n@@${nonce}:${i}:begin\n${r.stdout}\n@@${nonce}:${i}:end:${r.code}\n`;
        })
        .join("");
      return { code: 0, stdout, stderr: "" };
    }
    if (command === `[ -x ${K3S} ]`) {
      this.sent.push({ host: this.name, command, probe: true });
      return { code: this.model.files.has(K3S) ? 0 : 1, stdout: "", stderr: "" };
    }
    this.sent.push({ host: this.name, command, probe: false });
    return this.apply(command, opts.stdin === undefined ? "" : String(opts.stdin));
  }

  async close(): Promise<void> {}

  private probe(cmd: string): { stdout: string; code: number } {
    const m = this.model;
    const ok = (stdout: string) => ({ stdout, code: 0 });
    let r: RegExpExecArray | null;
    if (cmd.startsWith("if [ ! -x ")) {
      for (const bin of [...cmd.matchAll(/\[ ! -x (\S+) \]; then/g)].map((x) => x[1]!))
        if (!m.files.has(bin)) return ok(`absent=${bin}\n`);
      const read = (code: number, out: string) => ok(`rc=${code}\n${out}\n`);
      if (m.apiDown)
        return read(
          1,
          "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?",
        );
      if ((r = q(`helm list -n Q -a -q --filter Q`).exec(cmd))) {
        const name = r[2]!.replace(/^\^|\$$/g, "");
        return read(0, m.releases.has(`${r[1]}/${name}`) ? name : "");
      }
      if ((r = q(`kubectl get Q Q -o name`).exec(cmd)))
        return read(0, m.namespaces.has(r[2]!) ? `namespace/${r[2]}` : "");
      if (cmd.includes("kubectl get storageclass,persistentvolume,persistentvolumeclaim -A -o json"))
        return read(0, JSON.stringify({ kind: "List", items: m.objects }));
    }
    if ((r = q(`^if \\[ -e Q \\]; then echo run; fi$`).exec(cmd))) return ok(m.files.has(r[1]!) ? "run" : "");
    if ((r = q(`^if \\[ -e Q \\] \\|\\| \\[ -L Q \\]; then stat`).exec(cmd))) {
      const path = r[1]!;
      if (m.files.has(path))
        return ok(`regular file|644|root|root|0|0\n${Buffer.from(m.files.get(path)!).toString("base64")}`);
      return ok(m.dirs.has(path) ? "directory|755|root|root|0|0" : "MISSING");
    }
    if ((r = q(`findmnt -n -o SOURCE --mountpoint Q`).exec(cmd))) {
      const fstab = Buffer.from(m.files.get("/etc/fstab") ?? "").toString("base64");
      return ok(`uuid=\nmounted=${m.mounts.get(r[1]!) ?? ""}\n${fstab}`);
    }
    if ((r = q(`^p=Q; if \\[ ! -d "\\$p" \\]`).exec(cmd))) {
      const p = r[1]!;
      if (!m.dirs.has(p)) return ok("missing");
      if (m.mounts.has(p)) return ok("mounted");
      const inside = [...m.files.keys(), ...m.dirs].some((f) => f.startsWith(`${p}/`));
      return ok(inside ? "not-empty" : "empty");
    }
    throw new Error(`${this.name}: the fake node has no answer for the probe:\n${cmd}`);
  }

  private apply(cmd: string, stdin: string): ExecResult {
    const m = this.model;
    const done: ExecResult = { code: 0, stdout: "", stderr: "" };
    let r: RegExpExecArray | null;
    if (cmd.startsWith("set -e\nt=$(mktemp") && (r = q(`mv -f "\\$t" Q`).exec(cmd))) {
      m.files.set(r[1]!, stdin);
      return done;
    }
    if ((r = q(`^umount Q$`).exec(cmd))) {
      if (m.umountBusy) return { code: 32, stdout: "", stderr: `umount: ${r[1]}: target is busy.` };
      m.mounts.delete(r[1]!);
      return done;
    }
    if (cmd === "systemctl daemon-reload" || cmd === "exportfs -ra") return done;
    if ((r = q(`^rm -rf -- Q$`).exec(cmd))) {
      const gone = (p: string) => p === r![1] || p.startsWith(`${r![1]}/`);
      for (const f of [...m.files.keys()]) if (gone(f)) m.files.delete(f);
      for (const d of [...m.dirs]) if (gone(d)) m.dirs.delete(d);
      return done;
    }
    if ((r = q(`^rmdir -- Q$`).exec(cmd))) {
      m.dirs.delete(r[1]!);
      return done;
    }
    if ((r = q(`helm uninstall Q -n Q --wait`).exec(cmd))) {
      m.releases.delete(`${r[2]}/${r[1]}`);
      return done;
    }
    if ((r = q(`kubectl patch persistentvolume Q --type merge`).exec(cmd))) {
      const pv = m.objects.find((o) => o.kind === "PersistentVolume" && o.metadata.name === r![1]);
      pv!.spec!.persistentVolumeReclaimPolicy = "Retain";
      return done;
    }
    if (
      (r = q(`kubectl delete (persistentvolumeclaim|persistentvolume|storageclass) Q(?: -n Q)?`).exec(cmd))
    ) {
      const kind = {
        persistentvolumeclaim: "PersistentVolumeClaim",
        persistentvolume: "PersistentVolume",
        storageclass: "StorageClass",
      }[r[1]!];
      const [name, ns] = [r[2], r[3]];
      m.objects = m.objects.filter(
        (o) =>
          !(o.kind === kind && o.metadata.name === name && (ns === undefined || o.metadata.namespace === ns)),
      );
      return done;
    }
    if ((r = q(`kubectl delete Q Q --ignore-not-found`).exec(cmd)) && r[1] === "namespace") {
      m.namespaces.delete(r[2]!);
      return done;
    }
    // K3s' uninstall scripts remove K3s, themselves and (server) every cluster object.
    if (cmd === "/usr/local/bin/k3s-agent-uninstall.sh" || cmd === "/usr/local/bin/k3s-uninstall.sh") {
      for (const f of [K3S, cmd, "/usr/local/bin/k3s-killall.sh"]) m.files.delete(f);
      m.releases.clear();
      m.namespaces.clear();
      m.objects = [];
      return done;
    }
    throw new Error(`${this.name}: the fake node does not know the command:\n${cmd}`);
  }
}

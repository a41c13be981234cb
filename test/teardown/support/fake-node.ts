/**
 * A node for BOUNDARY tests of teardown: it records every command powerstack sends and answers from a
 * small model of the node (files, mounts, K3s, Helm releases, Kubernetes objects), so the real runner,
 * playbook, roles and modules can run a whole teardown, twice. K3s, Helm and Kubernetes cannot run in this
 * environment; what the host layer does for real is proven in the container lab (teardown.lab.test.ts).
 *
 * Facts arrive batched (src/engine/fact-cache.ts batchScript, the host facts as the first batch); each
 * fact's snippet is answered on its own, with what the fact's parser expects of a real node (exit status
 * included). A command the model does not know fails the test: the recorded list IS the exact list of
 * commands sent.
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
  /** Block device -> the filesystem on it (what `blkid -p` finds); the model's block devices are these. */
  filesystems: Map<string, { type: string; label: string; uuid: string }>;
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
    filesystems: new Map(),
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

/** One fact of a batch: nonce, index, snippet (the backreferences make a snippet's own text harmless). */
const BATCH =
  /printf '\\n@@([0-9a-f]+):(\d+):begin\\n'; \( ([\s\S]*?)\n\) 2>"\$E"; printf '\\n@@\1:\2:end:%d\\n' \$\?/g;
const q = (re: string) => new RegExp(re.replace(/Q/g, "'([^']*)'"));

export class FakeNode implements Host {
  constructor(
    readonly name: string,
    readonly model: NodeModel,
    private readonly sent: Sent[],
  ) {}

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
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
    this.sent.push({ host: this.name, command, probe: false });
    return this.apply(command, opts.stdin === undefined ? "" : String(opts.stdin));
  }

  async close(): Promise<void> {}

  private probe(cmd: string): { stdout: string; code: number } {
    const m = this.model;
    const ok = (stdout: string) => ({ stdout, code: 0 });
    const blkid = (dev: string) => this.blkidOf(dev);
    let r: RegExpExecArray | null;
    if (cmd === FACTS_SCRIPT) return ok(`@@init\nsystemd\n@@hostname\n${this.name}\n`);
    // k3s-installed (src/modules/cluster-read.ts).
    if (cmd === `if [ -x ${K3S} ]; then echo yes; else echo no; fi`)
      return ok(m.files.has(K3S) ? "yes" : "no");
    // k3s-version (src/facts/k3s.ts) and helm-version (src/modules/helm-binary.ts): `@@absent` without them.
    if (cmd === `if [ -x ${K3S} ]; then ${K3S} --version | head -n1; else echo '@@absent'; fi`)
      return ok(m.files.has(K3S) ? "k3s version v1.31.4+k3s1 (a562d090)" : "@@absent");
    if (cmd === `if [ -x ${HELM} ]; then ${HELM} version --template '{{.Version}}'; else echo '@@absent'; fi`)
      return ok(m.files.has(HELM) ? "v3.16.3" : "@@absent");
    // cluster-read and cluster-volumes: a missing binary, else the read's exit status and output.
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
    // command-guards (src/modules/command.ts): `removes`.
    if ((r = q(`^if \\[ -e Q \\]; then echo run; else echo skip; fi$`).exec(cmd)))
      return ok(m.files.has(r[1]!) ? "run" : "skip");
    // file (src/facts/file.ts): stat's line, then the content as base64.
    if ((r = q(`^if \\[ -e Q \\] \\|\\| \\[ -L Q \\]; then stat`).exec(cmd))) {
      const path = r[1]!;
      if (m.files.has(path))
        return ok(`regular file|644|root|root|0|0\n${Buffer.from(m.files.get(path)!).toString("base64")}`);
      return ok(m.dirs.has(path) ? "directory|755|root|root|0|0" : "MISSING");
    }
    // mount (src/facts/system.ts mountAt): findmnt -P's line, nothing when nothing is mounted there.
    if ((r = q(`^out=\\$\\(findmnt -P -n -o SOURCE,FSTYPE,OPTIONS --mountpoint Q\\)`).exec(cmd))) {
      const source = m.mounts.get(r[1]!);
      if (source === undefined) return ok("");
      const nfs = source.includes(":/");
      return ok(
        `SOURCE="${source}" FSTYPE="${nfs ? "nfs4" : "btrfs"}" OPTIONS="rw,noatime${nfs ? ",hard" : ""}"`,
      );
    }
    // fs-uuid (src/facts/system.ts): blkid -p's export format; nothing (its exit 2 mapped to 0) when none.
    if ((r = q(`^out=\\$\\(blkid -p -o export Q\\)`).exec(cmd))) return ok(blkid(r[1]!));
    // disk (src/modules/filesystem.ts): the device, its signature, partitions, where it is mounted.
    if ((r = q(`^d=\\$\\(readlink -f Q\\); echo "resolved=\\$d"`).exec(cmd))) {
      const dev = r[1]!;
      const inUse = [...m.mounts].filter(([, source]) => source === dev).map(([point]) => point);
      return ok(
        [
          `resolved=${dev}`,
          `block=${m.filesystems.has(dev) ? "yes" : "no"}`,
          `sig=${blkid(dev).replace(/\n/g, " ")}`,
          "children=",
          `inuse=${inUse.map((p) => `${p} `).join("")}`,
          `nonzero=${m.filesystems.has(dev) ? 65536 : 0}`,
        ].join("\n"),
      );
    }
    // dir-state (src/facts/system.ts).
    if ((r = q(`^p=Q; if \\[ ! -d "\\$p" \\]`).exec(cmd))) {
      const p = r[1]!;
      if (!m.dirs.has(p)) return ok("missing");
      if (m.mounts.has(p)) return ok("mounted");
      const inside = [...m.files.keys(), ...m.dirs].some((f) => f.startsWith(`${p}/`));
      return ok(inside ? "not-empty" : "empty");
    }
    throw new Error(`${this.name}: the fake node has no answer for the fact:\n${cmd}`);
  }

  /** What a real node's `blkid -p -o export` prints for a device: nothing when it holds no filesystem. */
  private blkidOf(dev: string): string {
    const fs = this.model.filesystems.get(dev);
    return fs ? `DEVNAME=${dev}\nUUID=${fs.uuid}\nTYPE=${fs.type}\nLABEL=${fs.label}\n` : "";
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

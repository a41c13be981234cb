/**
 * A stand-in for the control node, for BOUNDARY tests only: no K3s, Helm or Kubernetes API can run here.
 * It records every command and stdin (like RecordingHost) and answers the exact commands powerstack's
 * monitoring modules send from a small simulated state: Kubernetes objects, Helm release histories, Helm
 * repositories, files. It is deliberately literal: a command it does not recognise fails the test (exit
 * 127), so a changed command line cannot slip through unnoticed.
 *
 * Where it answers for a real tool it follows that tool's documented behaviour:
 *  - `kubectl get A B -o json` prints a List for several names and the bare object for one; a Secret's
 *    go-template (`{{.type}}` then `{{range $k, $v := .data}}` in sorted key order) piped into sha256sum;
 *  - the API server adds fields we never set (uid, defaults, a bound PV's claimRef.uid, status);
 *  - `helm upgrade --install` adds a revision on EVERY call, changed or not (helm-charts #5236), and
 *    records `--description`; `helm history --max 1 -o json` prints it back.
 *
 * Where it stands in for Helm's rendering it runs the REAL Helm 3.17.3 (test/support/real-helm.ts) on the
 * pinned packaged chart (or the archive uploaded to it, or one a test registers in `charts`):
 *  - `helm upgrade --install` is `helm template` with exactly the values sent on stdin, the Kubernetes
 *    version K3s runs and the API versions the live CRDs serve, through the real post-renderer (the
 *    script and patch.yaml powerstack wrote into `files`, run with the real kubectl's kustomize); the
 *    objects become live objects (Helm's ownership annotations added; those of the previous revision no
 *    longer rendered are deleted); a template error fails the command as it fails real Helm;
 *  - on a first install Helm creates the chart's CRDs that do not exist yet and skips existing ones; on an
 *    upgrade it leaves CRDs alone (Helm's documented CRD handling: what defect #6 is about);
 *  - `helm show crds` is the real one. Renders are cached per process by (chart, values, post-renderer).
 *
 * Facts arrive in batches (src/engine/fact-cache.ts batchScript; the host facts are the first batch);
 * each fact's snippet is answered as the fact's parser expects of a real node: `k3s-installed` (yes/no),
 * `k3s-version` (`k3s version v...` or `@@absent`), `helm-version` (`v...` or `@@absent`), `file`
 * (stat's line and base64 content, or MISSING), `kube-objects`, `helm-release`, `dir-state`.
 *
 * Teardown (roles teardown-helm, teardown-cluster-storage) is answered from the same live state:
 *  - the cluster reads (src/modules/cluster-read.ts, facts `cluster-read` and `cluster-volumes`:
 *    `absent=<bin>` or `rc=<exit>` then the output): `helm list -n NS -a -q --filter RE` (names of the
 *    releases with a history), `kubectl get storageclass,persistentvolume,persistentvolumeclaim -A -o json`
 *    (one List, kinds in that order, each sorted by namespace/name), `kubectl get KIND NAME -o name
 *    --ignore-not-found`;
 *  - `helm uninstall REL -n NS --wait --timeout Ns` (`helm uninstall --help`: "removes all of the resources
 *    associated with the last release of the chart as well as the release history"): the objects the last
 *    revision's REAL render made go, except those annotated `helm.sh/resource-policy: keep`; CRDs stay
 *    (they are never part of a release's manifest: Helm never deletes CRDs), and so does the namespace
 *    `--create-namespace` made. Hooks are not part of the manifest either (helm.sh/docs/topics/charts_hooks:
 *    hook resources are not managed with the release): since this fake runs no hook at install and keeps
 *    the rendered hook objects live, those whose `helm.sh/hook-delete-policy` has `hook-succeeded` (Helm
 *    deleted them when they succeeded) go now and the others stay. A release with a pre-/post-delete hook
 *    fails the command (exit 127): running hooks is not modelled. Unknown release: Helm's "not found";
 *  - `kubectl delete` of a namespace (the API server refuses default, kube-system, kube-public; everything
 *    namespaced in it goes with it), a claim (its Retain volume becomes Released, claimRef kept), a
 *    PersistentVolume, a StorageClass, each with `--ignore-not-found`; `kubectl patch persistentvolume NAME
 *    --type merge -p JSON`; `rm -rf -- PATH`, `rmdir -- PATH` (refused when not empty) and the
 *    `dir-state` fact. `mkdir -p` also records the parent directories it creates.
 *  - opt-in (`operatorClaims`): after a Helm install or upgrade, the claims the StatefulSet controller makes
 *    for the Prometheus operator's StatefulSets (`<volume>-<statefulset>-<ordinal>`, the volume
 *    `prometheus-<name>-db` / `alertmanager-<name>-db` unless the claim template names it), bound to the
 *    PersistentVolume whose claimRef names them. They are not Helm's: `helm uninstall` leaves them (the
 *    StatefulSet's default claim retention is Retain). Nothing else operators or controllers make (the
 *    StatefulSets, pods, the operator's Secrets and Services) is modelled.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { FACTS_SCRIPT } from "../../src/engine/facts.js";
import { DEFAULTS } from "../../src/inventory/schema.js";
import type { ExecOptions, ExecResult, Host } from "../../src/transport/host.js";
import type { Sent } from "../support/recording-host.js";
import { helm as realHelm, realTools, SHARED_CHARTS_DIR } from "../support/real-helm.js";

type Json = Record<string, any>;

export interface Revision {
  revision: number;
  status: string;
  chart: string;
  app_version: string;
  description: string;
  /** What Helm got on stdin (not part of `helm history` output). */
  values: string;
  postRenderer?: string;
  /** Keys of the objects this revision made (not part of `helm history` output). */
  objects?: string[];
}

/** The kinds kubectl is asked for by their singular resource name (`storageclass.v1.storage.k8s.io`). */
const KINDS = [
  "Namespace",
  "StorageClass",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "ConfigMap",
  "Secret",
];
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "StorageClass",
  "PersistentVolume",
  "CustomResourceDefinition",
  "ClusterRole",
  "ClusterRoleBinding",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "PriorityClass",
  "APIService",
]);
const key = (kind: string, ns: string | undefined, name: string) =>
  `${kind}/${CLUSTER_SCOPED.has(kind) || !ns ? "" : `${ns}/`}${name}`;
const unq = (s: string) => s.replace(/^'|'$/g, "").replace(/'\\''/g, "'");
/** kubectl's resource names teardown uses: the kind, and the prefix `-o name` prints. */
const RESOURCES: Record<string, { kind: string; name: string }> = {
  namespace: { kind: "Namespace", name: "namespace" },
  storageclass: { kind: "StorageClass", name: "storageclass.storage.k8s.io" },
  persistentvolume: { kind: "PersistentVolume", name: "persistentvolume" },
  persistentvolumeclaim: { kind: "PersistentVolumeClaim", name: "persistentvolumeclaim" },
  configmap: { kind: "ConfigMap", name: "configmap" },
  secret: { kind: "Secret", name: "secret" },
};
/** src/modules/cluster-read.ts clusterReadCommand(): one or two binaries checked, then the read. */
const CLUSTER_READ =
  /^if \[ ! -x (\S+) \]; then echo "absent=\1"(?:; elif \[ ! -x (\S+) \]; then echo "absent=\2")?; else out=\$\((.+) 2>&1\); echo "rc=\$\?"; printf '%s\\n' "\$out"; fi$/;
/** src/facts/system.ts dirState. */
const DIR_STATE =
  /^p='([^']+)'; if \[ ! -d "\$p" \] \|\| \[ -L "\$p" \]; then echo missing; elif findmnt --mountpoint "\$p" >\/dev\/null; then echo mounted; else l=\$\(ls -A "\$p"\) \|\| exit 1; if \[ -n "\$l" \]; then echo not-empty; else echo empty; fi; fi$/;
/** One fact of a batch: nonce, index, snippet (the backreferences make a snippet's own text harmless). */
const BATCH_FACT =
  /printf '\\n@@([0-9a-f]+):(\d+):begin\\n'; \( ([\s\S]*?)\n\) 2>"\$E"; printf '\\n@@\1:\2:end:%d\\n' \$\?/g;

export class FakeControlNode implements Host {
  readonly sent: Sent[] = [];
  k3sInstalled = true;
  helmInstalled = true;
  readonly objects = new Map<string, Json>();
  readonly releases = new Map<string, Revision[]>();
  repos: Array<{ name: string; url: string }> = [];
  /** `data`: the exact bytes, for binary files (chart archives); `content` is their UTF-8 reading. */
  readonly files = new Map<string, { content: string; mode: string; data?: Buffer }>();
  /** Upload records (transport/upload.ts): record path -> the file and digest it vouches for. */
  readonly uploadRecords = new Map<string, { path: string; sha256: string }>();
  /** Charts `helm` finds besides the pinned packaged ones: `<name>-<version>` -> a local .tgz. */
  readonly charts = new Map<string, string>();
  /** What `--kube-version` the rendering gets: the Kubernetes of the pinned K3s. */
  kubeVersion = "1.31.4";
  /** What `k3s --version` and `helm version` print (when installed): the pinned versions. */
  k3sVersion = DEFAULTS.k3sVersion;
  helmVersion = DEFAULTS.helmVersion;
  readonly dirs = new Map<string, { mode: string; owner: string }>();
  readonly restarts: string[] = [];
  /** Model the claims the Prometheus operator's StatefulSets get (see the header); off by default. */
  operatorClaims = false;
  private uid = 0;

  constructor(readonly name = "ctl") {}

  async close(): Promise<void> {}

  /** Commands other than fact batches (the host facts among them): what acted on the node. */
  actions(): string[] {
    return this.sent.map((s) => s.command).filter((c) => !/@@[0-9a-f]+:0:begin/.test(c));
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const stdin = opts.stdin === undefined ? undefined : Buffer.from(opts.stdin);
    this.sent.push({ command, stdin });
    if (/printf '\\n@@[0-9a-f]+:0:begin\\n'/.test(command)) return this.batch(command);
    return this.act(command, stdin?.toString("utf8") ?? "", stdin);
  }

  // --- probes ------------------------------------------------------------------------------------------

  private batch(script: string): ExecResult {
    let out = "";
    for (const [, nonce, i, cmd] of script.matchAll(BATCH_FACT)) {
      const r = this.probe(cmd!);
      out += `\n@@${nonce}:${i}:begin\n${r.stdout}\n@@${nonce}:${i}:end:${r.code}\n`;
    }
    return { code: 0, stdout: out, stderr: "" };
  }

  private probe(cmd: string): { stdout: string; code: number } {
    if (cmd === FACTS_SCRIPT) return { stdout: `@@hostname\n${this.name}\n`, code: 0 };
    if (cmd === "if [ -x /usr/local/bin/k3s ]; then echo yes; else echo no; fi")
      return { stdout: this.k3sInstalled ? "yes\n" : "no\n", code: 0 };
    if (
      cmd ===
      "if [ -x /usr/local/bin/k3s ]; then /usr/local/bin/k3s --version | head -n1; else echo '@@absent'; fi"
    )
      return {
        // `| head -n1`: k3s' first line only (the second names the Go version).
        stdout: this.k3sInstalled ? `k3s version ${this.k3sVersion} (fa00f8b9)\n` : "@@absent\n",
        code: 0,
      };
    if (
      cmd ===
      "if [ -x /usr/local/bin/helm ]; then /usr/local/bin/helm version --template '{{.Version}}'; else echo '@@absent'; fi"
    )
      return { stdout: this.helmInstalled ? this.helmVersion : "@@absent\n", code: 0 };
    if (cmd.includes("@@kube-apply")) return { stdout: this.kubeProbe(cmd), code: 0 };
    if (cmd.includes("@@helm-release")) return { stdout: this.helmProbe(cmd), code: 0 };
    const file = /^if \[ -e '([^']+)' \] \|\| \[ -L/.exec(cmd);
    if (file) return { stdout: this.fileProbe(file[1]!), code: 0 };
    const read = CLUSTER_READ.exec(cmd);
    if (read) return { stdout: this.clusterRead(read[1]!, read[2], read[3]!), code: 0 };
    const dir = DIR_STATE.exec(cmd);
    if (dir) return { stdout: `${this.dirState(dir[1]!)}\n`, code: 0 };
    throw new Error(`FakeControlNode: unknown probe: ${cmd.slice(0, 200)}`);
  }

  private kubeProbe(cmd: string): string {
    if (!this.k3sInstalled) return "@@kube-apply k3s-absent\n";
    let out = "";
    const get =
      /echo '@@kube-apply get (\d+)'; \/usr\/local\/bin\/k3s kubectl get ((?:'[^']*' )+)(?:-n '([^']*)' )?--ignore-not-found -o json/g;
    for (let m = get.exec(cmd); m; m = get.exec(cmd)) {
      const refs = m[2]!.trim().split(" ").map(unq);
      const found = refs
        .map((ref) => {
          const [type, name] = ref.split("/") as [string, string];
          const kind = KINDS.find((k) => k.toLowerCase() === type.split(".")[0]);
          return kind && this.objects.get(key(kind, m![3], name));
        })
        .filter((o): o is Json => !!o);
      const body =
        refs.length === 1
          ? found[0]
            ? JSON.stringify(found[0], null, 4)
            : ""
          : JSON.stringify(
              { apiVersion: "v1", kind: "List", items: found, metadata: { resourceVersion: "" } },
              null,
              4,
            );
      out += `@@kube-apply get ${m[1]}\n${body}${body ? "\n" : ""}@@kube-apply rc 0\n`;
    }
    const secret =
      /echo '@@kube-apply secret (\d+)'; out=\$\(\/usr\/local\/bin\/k3s kubectl get secret '([^']+)' -n '([^']+)'/g;
    for (let m = secret.exec(cmd); m; m = secret.exec(cmd)) {
      const s = this.objects.get(key("Secret", m[3], m[2]!));
      let line = "absent";
      if (s) {
        // What kubectl's go-template prints, then `$(...)` drops trailing newlines, then sha256sum.
        const data = (s.data ?? {}) as Record<string, string>;
        const printed = `${s.type}\n${Object.keys(data)
          .sort()
          .map((k) => `${k}=${data[k]}\n`)
          .join("")}`.replace(/\n+$/, "");
        line = `${createHash("sha256").update(printed).digest("hex")}  -`;
      }
      out += `@@kube-apply secret ${m[1]}\n${line}\n@@kube-apply rc 0\n`;
    }
    return out;
  }

  private helmProbe(cmd: string): string {
    if (!this.k3sInstalled || !this.helmInstalled) return "@@helm-release tools-absent\n";
    const [, rel, ns] = /history '([^']+)' -n '([^']+)' --max 1 -o json/.exec(cmd)!;
    const hist = this.releases.get(`${ns}/${rel}`);
    const history = hist?.length
      ? `@@helm-release history 0\n${JSON.stringify([hist.at(-1)!].map(({ values: _v, postRenderer: _p, objects: _o, ...r }) => r))}\n`
      : "@@helm-release history 1\nError: release: not found\n";
    const repos = this.repos.length ? `${JSON.stringify(this.repos)}\n` : "";
    return `${history}@@helm-release repos\n${repos}`;
  }

  private fileProbe(path: string): string {
    const d = this.dirs.get(path);
    if (d) return `directory|${d.mode}|${d.owner.split(":")[0]}|${d.owner.split(":")[1]}|0|0\n`;
    const f = this.files.get(path);
    if (f) return `regular file|${f.mode}|root|root|0|0\n${Buffer.from(f.content).toString("base64")}\n`;
    return "MISSING\n";
  }

  /** src/modules/cluster-read.ts: a missing binary, else the read's exit status and output. */
  private clusterRead(bin: string, bin2: string | undefined, read: string): string {
    for (const b of [bin, bin2].filter((x): x is string => !!x)) {
      const installed = {
        "/usr/local/bin/k3s": this.k3sInstalled,
        "/usr/local/bin/helm": this.helmInstalled,
      }[b];
      if (installed === undefined) throw new Error(`FakeControlNode: unknown binary in a cluster read: ${b}`);
      if (!installed) return `absent=${b}\n`;
    }
    const answer = (out: string) => `rc=0\n${out.replace(/\n+$/, "")}\n`;
    let m =
      /^KUBECONFIG=\/etc\/rancher\/k3s\/k3s\.yaml \/usr\/local\/bin\/helm list -n '([^']+)' -a -q --filter '([^']+)'$/.exec(
        read,
      );
    if (m) {
      const [, ns, filter] = m;
      const re = new RegExp(filter!); // Helm's --filter is a regular expression
      return answer(
        [...this.releases]
          .filter(([k, h]) => h.length > 0 && k.startsWith(`${ns}/`) && re.test(k.slice(ns!.length + 1)))
          .map(([k]) => k.slice(ns!.length + 1))
          .sort()
          .join("\n"),
      );
    }
    if (
      read === "/usr/local/bin/k3s kubectl get storageclass,persistentvolume,persistentvolumeclaim -A -o json"
    ) {
      const byKind = (kind: string) =>
        [...this.objects.values()]
          .filter((o) => o.kind === kind)
          .sort((a, b) =>
            `${a.metadata.namespace ?? ""}/${a.metadata.name}`.localeCompare(
              `${b.metadata.namespace ?? ""}/${b.metadata.name}`,
            ),
          );
      const items = ["StorageClass", "PersistentVolume", "PersistentVolumeClaim"].flatMap(byKind);
      return answer(
        JSON.stringify({ apiVersion: "v1", items, kind: "List", metadata: { resourceVersion: "" } }, null, 4),
      );
    }
    m =
      /^\/usr\/local\/bin\/k3s kubectl get '([a-z]+)' '([^']+)'(?: -n '([^']+)')? -o name --ignore-not-found$/.exec(
        read,
      );
    const kind = m && RESOURCES[m[1]!];
    if (m && kind) {
      const found = this.objects.get(key(kind.kind, m[3], m[2]!));
      return answer(found ? `${kind.name}/${m[2]}` : "");
    }
    throw new Error(`FakeControlNode: unknown cluster read: ${read.slice(0, 200)}`);
  }

  /** src/facts/system.ts dirState (no mounts are modelled: never `mounted`). */
  private dirState(path: string): string {
    if (!this.dirs.has(path)) return "missing";
    const inside = [...this.dirs.keys(), ...this.files.keys()].some((p) => p.startsWith(`${path}/`));
    return inside ? "not-empty" : "empty";
  }

  // --- actions -----------------------------------------------------------------------------------------

  /** `k3s kubectl exec -i -n <ns> '<target>' -c <container> -- <command>`: what runs in the container (unset: 127). */
  execIn?: (target: string, container: string, command: string, stdin: string) => ExecResult;

  private async act(cmd: string, stdin: string, raw?: Buffer): Promise<ExecResult> {
    const ok = (stdout = ""): ExecResult => ({ code: 0, stdout, stderr: "" });
    const exec = /^\/usr\/local\/bin\/k3s kubectl exec -i -n '([^']+)' '([^']+)' -c ([\w-]+) -- (.+)$/.exec(
      cmd,
    );
    if (exec && this.execIn) return this.execIn(`${exec[1]}/${exec[2]}`, exec[3]!, exec[4]!, stdin);
    if (
      cmd ===
      "/usr/local/bin/k3s kubectl apply --server-side --field-manager=powerstack --force-conflicts -f -"
    ) {
      for (const doc of parseAllDocuments(stdin)) this.store(doc.toJS() as Json);
      return ok();
    }
    let m = /^\/usr\/local\/bin\/k3s kubectl patch persistentvolume '([^']+)' --type=merge -p /.exec(cmd);
    if (m) {
      const pv = this.objects.get(key("PersistentVolume", undefined, m[1]!))!;
      delete pv.spec.claimRef.uid;
      delete pv.spec.claimRef.resourceVersion;
      pv.status = { phase: "Available" };
      return ok();
    }
    // Grafana after a password reset: restart, then wait for the rollout (src/modules/grafana-admin.ts).
    m =
      /^\/usr\/local\/bin\/k3s kubectl rollout restart '([^']+)' -n '([^']+)' && \/usr\/local\/bin\/k3s kubectl rollout status '\1' -n '\2' --timeout=\d+s$/.exec(
        cmd,
      );
    if (m) {
      this.restarts.push(`${m[2]}/${m[1]}`);
      return ok();
    }
    m = /kubectl rollout restart '([^']+)' -n '([^']+)'; fi$/.exec(cmd);
    if (m) {
      this.restarts.push(`${m[2]}/${m[1]}`);
      return ok();
    }
    // transport/upload.ts without SFTP: the content on stdin, checked against its sha256, then recorded.
    m =
      /echo "([0-9a-f]{64}) {2}\$t" \| sha256sum -c[\s\S]*\nmv -f "\$t" '([^']+)'\n[\s\S]*mv -f "\$t\.rec" '([^']+)'/.exec(
        cmd,
      );
    if (m) {
      const data = raw ?? Buffer.alloc(0);
      if (createHash("sha256").update(data).digest("hex") !== m[1])
        return {
          code: 1,
          stdout: "",
          stderr: `sha256 of ${m[2]} on the node is not ${m[1]}: the transfer was corrupted\n`,
        };
      this.files.set(m[2]!, {
        content: stdin,
        mode: /chmod '(\d+)'/.exec(cmd)?.[1]?.replace(/^0/, "") ?? "644",
        data,
      });
      this.uploadRecords.set(m[3]!, { path: m[2]!, sha256: m[1]! });
      return ok();
    }
    // Its check: the recorded digest, while the file is still the one recorded (size and mtime there).
    m =
      /^if \[ -f '([^']+)' \] && \[ -f '([^']+)' \]; then read -r d s m < '[^']+'; \[ "\$s \$m" = "\$\(stat -c '%s %Y' '[^']+'\)" \] && echo "\$d"; fi; true$/.exec(
        cmd,
      );
    if (m) {
      const rec = this.uploadRecords.get(m[2]!);
      const valid = rec && rec.path === m[1] && this.files.has(m[1]!) && this.sha256(m[1]!) === rec.sha256;
      return ok(valid ? `${rec.sha256}\n` : "");
    }
    m = /mv -f "\$t" '([^']+)'/.exec(cmd);
    if (m) {
      this.files.set(m[1]!, {
        content: stdin,
        mode: /chmod '(\d+)'/.exec(cmd)?.[1]?.replace(/^0/, "") ?? "644",
        data: raw ?? Buffer.alloc(0),
      });
      return ok();
    }
    m =
      /^crds=\$\(mktemp\) && \{ KUBECONFIG=\/etc\/rancher\/k3s\/k3s.yaml \/usr\/local\/bin\/helm show crds '([^']+)' --version '([^']+)' > "\$crds" && \{ \[ -s "\$crds" \] \|\| \{ echo '[^']*' >&2; false; \}; \} && \/usr\/local\/bin\/k3s kubectl apply --server-side --field-manager=powerstack --force-conflicts -f "\$crds"; rc=\$\?; rm -f "\$crds"; \[ "\$rc" -eq 0 \]; \}$/.exec(
        cmd,
      );
    if (m) return this.applyCrds(m[1]!, m[2]!);
    m = /^mkdir -p -- '([^']+)' && chmod '(\d+)' -- '[^']+'(?: && chown '([^']+)')?/.exec(cmd);
    if (m) {
      this.dirs.set(m[1]!, { mode: m[2]!.replace(/^0/, ""), owner: m[3] ?? "root:root" });
      // `mkdir -p` creates the missing parents too (umask 022, the user it runs as: root).
      for (let p = dirname(m[1]!); p !== "/" && !this.dirs.has(p); p = dirname(p))
        this.dirs.set(p, { mode: "755", owner: "root:root" });
      return ok();
    }
    const helm = "KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm ";
    if (cmd.startsWith(helm) && !this.helmInstalled)
      return { code: 127, stdout: "", stderr: "sh: 1: /usr/local/bin/helm: not found\n" };
    if (cmd.startsWith(helm)) return this.helm(cmd.slice(helm.length), stdin);
    const teardown = this.teardownAction(cmd);
    if (teardown) return teardown;
    return { code: 127, stdout: "", stderr: `FakeControlNode: unknown command: ${cmd.slice(0, 200)}` };
  }

  private async helm(args: string, stdin: string): Promise<ExecResult> {
    let m = /^repo add '([^']+)' '([^']+)' --force-update$/.exec(args);
    if (m) {
      this.repos = [...this.repos.filter((r) => r.name !== m![1]), { name: m[1]!, url: m[2]! }];
      return { code: 0, stdout: "", stderr: "" };
    }
    if (/^repo update '[^']+'$/.test(args)) return { code: 0, stdout: "", stderr: "" };
    m =
      /^upgrade --install '([^']+)' '([^']+)' --version '([^']+)' --namespace '([^']+)' --create-namespace --values - --description '([^']+)' --wait --timeout \d+s(?: --post-renderer '([^']+)')?$/.exec(
        args,
      );
    if (m) {
      const [, rel, chart, version, ns, description, postRenderer] = m;
      if (postRenderer && !this.files.has(postRenderer))
        return { code: 1, stdout: "", stderr: `Error: post-renderer ${postRenderer} not found` };
      const hist = this.releases.get(`${ns}/${rel}`) ?? [];
      const file = this.resolveChart(chart!, version!);
      if (typeof file !== "string") return file;
      // A first install creates the chart's CRDs that do not exist yet (existing ones are skipped, never
      // updated); an upgrade leaves CRDs alone.
      if (!hist.length)
        for (const crd of await this.showCrds(file))
          if (!this.objects.has(key(crd.kind, undefined, crd.metadata.name))) this.store(crd);
      let objects: Json[];
      try {
        objects = await this.template(rel!, ns!, file, stdin, postRenderer, hist.length > 0);
      } catch (err) {
        return { code: 1, stdout: "", stderr: (err as { stderr?: string }).stderr || String(err) };
      }
      if (!this.objects.has(key("Namespace", undefined, ns!)))
        this.store({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
      const made = objects.map((o) => this.storeFromHelm(o, rel!, ns!));
      // Helm deletes what the previous revision made and this one no longer renders.
      for (const k of hist.at(-1)?.objects ?? []) if (!made.includes(k)) this.objects.delete(k);
      for (const r of hist) if (r.status === "deployed") r.status = "superseded";
      // Helm records the chart's own Chart.yaml name and version (for a local archive `--version` is ignored).
      const meta = await cached(metas, chartDigest(file), async () => {
        const { stdout } = await realHelm(["show", "chart", file]);
        return parseAllDocuments(stdout)[0]!.toJS() as { name: string; version: string };
      });
      hist.push({
        revision: hist.length + 1,
        status: "deployed",
        chart: `${meta.name}-${meta.version}`,
        app_version: "x",
        description: description!,
        values: stdin,
        postRenderer,
        objects: made,
      });
      this.releases.set(`${ns}/${rel}`, hist);
      if (this.operatorClaims) this.claimsOfOperators();
      return { code: 0, stdout: "", stderr: "" };
    }
    m = /^uninstall '([^']+)' -n '([^']+)' --wait --timeout \d+s$/.exec(args);
    if (m) return this.uninstall(m[1]!, m[2]!);
    return { code: 127, stdout: "", stderr: `FakeControlNode: unknown helm command: ${args.slice(0, 200)}` };
  }

  // --- teardown ----------------------------------------------------------------------------------------

  /** The commands teardown's cluster modules send besides Helm's (see the header); undefined: not one. */
  private teardownAction(cmd: string): ExecResult | undefined {
    const ok: ExecResult = { code: 0, stdout: "", stderr: "" };
    const fail = (stderr: string, code = 1): ExecResult => ({ code, stdout: "", stderr: `${stderr}\n` });
    const kubectl = "/usr/local/bin/k3s kubectl ";
    if (cmd.startsWith(kubectl) && !this.k3sInstalled)
      return fail("sh: 1: /usr/local/bin/k3s: not found", 127);
    let m =
      /^\/usr\/local\/bin\/k3s kubectl delete (?:'([a-z]+)'|([a-z]+)) '([^']+)'(?: -n '([^']+)')? --ignore-not-found(?: --wait=true --timeout=\d+s)?$/.exec(
        cmd,
      );
    const resource = m && RESOURCES[m[1] ?? m[2]!];
    if (m && resource && resource.kind !== "ConfigMap" && resource.kind !== "Secret") {
      const [name, ns] = [m[3]!, m[4]];
      if (CLUSTER_SCOPED.has(resource.kind) === (ns !== undefined))
        return fail(
          `FakeControlNode: ${resource.kind} ${name} asked for ${ns ? "with" : "without"} a namespace`,
          127,
        );
      if (resource.kind === "Namespace" && ["default", "kube-system", "kube-public"].includes(name))
        return fail(
          `Error from server (Forbidden): namespaces "${name}" is forbidden: this namespace may not be deleted`,
        );
      this.remove(key(resource.kind, ns, name));
      return ok;
    }
    m = /^\/usr\/local\/bin\/k3s kubectl patch persistentvolume '([^']+)' --type merge -p ('.+')$/.exec(cmd);
    if (m) {
      const k = key("PersistentVolume", undefined, m[1]!);
      const pv = this.objects.get(k);
      if (!pv) return fail(`Error from server (NotFound): persistentvolumes "${m[1]}" not found`);
      this.objects.set(k, deepMerge(pv, JSON.parse(unq(m[2]!)) as Json));
      return ok;
    }
    m = /^rm -rf -- '([^']+)'$/.exec(cmd);
    if (m) {
      const gone = (p: string) => p === m![1] || p.startsWith(`${m![1]}/`);
      for (const p of [...this.files.keys()]) if (gone(p)) this.files.delete(p);
      for (const p of [...this.dirs.keys()]) if (gone(p)) this.dirs.delete(p);
      return ok;
    }
    m = /^rmdir -- '([^']+)'$/.exec(cmd);
    if (m) {
      const state = this.dirState(m[1]!);
      if (state === "missing") return fail(`rmdir: failed to remove '${m[1]}': No such file or directory`);
      if (state === "not-empty") return fail(`rmdir: failed to remove '${m[1]}': Directory not empty`);
      this.dirs.delete(m[1]!);
      return ok;
    }
    return undefined;
  }

  /** An object deleted (and waited for): a namespace with everything in it; a claim releases its volume. */
  private remove(k: string): void {
    const o = this.objects.get(k);
    if (!o) return;
    this.objects.delete(k);
    if (o.kind === "Namespace")
      for (const [ik, io] of [...this.objects])
        if (!CLUSTER_SCOPED.has(io.kind) && io.metadata.namespace === o.metadata.name) this.remove(ik);
    // A Retain volume is Released (claimRef kept). Delete: a provisioner would erase it; the in-tree NFS
    // plugin has no deleter, so an NFS volume goes Failed (what is shown for any non-Retain volume here).
    if (o.kind === "PersistentVolumeClaim")
      for (const pv of this.objects.values())
        if (
          pv.kind === "PersistentVolume" &&
          pv.spec?.claimRef?.namespace === o.metadata.namespace &&
          pv.spec?.claimRef?.name === o.metadata.name
        )
          pv.status = { phase: pv.spec.persistentVolumeReclaimPolicy === "Retain" ? "Released" : "Failed" };
  }

  /** `helm uninstall` without --keep-history (see the header). */
  private uninstall(rel: string, ns: string): ExecResult {
    const hist = this.releases.get(`${ns}/${rel}`);
    if (!hist?.length)
      return {
        code: 1,
        stdout: "",
        stderr: `Error: uninstall: Release not loaded: ${rel}: release: not found\n`,
      };
    const made = (hist.at(-1)!.objects ?? []).flatMap((k) => {
      const o = this.objects.get(k);
      return o ? [[k, o] as const] : [];
    });
    const ann = (o: Json, a: string): string => o.metadata.annotations?.[a] ?? "";
    if (made.some(([, o]) => /(^|,)\s*(pre|post)-delete\s*(,|$)/.test(ann(o, "helm.sh/hook"))))
      return {
        code: 127,
        stdout: "",
        stderr: `FakeControlNode: release ${ns}/${rel} has delete hooks; running hooks is not modelled\n`,
      };
    for (const [k, o] of made) {
      if (ann(o, "helm.sh/hook")) {
        if (
          ann(o, "helm.sh/hook-delete-policy")
            .split(",")
            .map((p) => p.trim())
            .includes("hook-succeeded")
        )
          this.remove(k);
      } else if (ann(o, "helm.sh/resource-policy") !== "keep") this.remove(k);
    }
    this.releases.delete(`${ns}/${rel}`);
    return { code: 0, stdout: `release "${rel}" uninstalled\n`, stderr: "" };
  }

  /** Opt-in: the StatefulSet controller's claims for the operator's Prometheus and Alertmanager. */
  private claimsOfOperators(): void {
    for (const o of [...this.objects.values()]) {
      if (o.apiVersion !== "monitoring.coreos.com/v1" || !["Prometheus", "Alertmanager"].includes(o.kind))
        continue;
      const template = o.spec?.storage?.volumeClaimTemplate as Json | undefined;
      if (!template) continue;
      if ((o.spec.shards ?? 1) !== 1) throw new Error("FakeControlNode: sharded Prometheus is not modelled");
      const prefix = o.kind.toLowerCase();
      const statefulSet = `${prefix}-${o.metadata.name}`;
      const volume = template.metadata?.name || `${prefix}-${o.metadata.name}-db`;
      const ns = o.metadata.namespace as string;
      for (let i = 0; i < (o.spec.replicas ?? 1); i++) {
        const name = `${volume}-${statefulSet}-${i}`;
        if (this.objects.has(key("PersistentVolumeClaim", ns, name))) continue; // never updated
        const pv = [...this.objects.values()].find(
          (v) =>
            v.kind === "PersistentVolume" &&
            v.spec?.claimRef?.namespace === ns &&
            v.spec?.claimRef?.name === name,
        );
        this.store({
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: {
            name,
            namespace: ns,
            ...(template.metadata?.labels ? { labels: template.metadata.labels } : {}),
          },
          spec: { ...structuredClone(template.spec ?? {}), ...(pv ? { volumeName: pv.metadata.name } : {}) },
        });
        if (!pv) this.objects.get(key("PersistentVolumeClaim", ns, name))!.status = { phase: "Pending" };
      }
    }
  }

  // --- real Helm ---------------------------------------------------------------------------------------

  private sha256(path: string): string {
    const f = this.files.get(path)!;
    return createHash("sha256")
      .update(f.data ?? Buffer.from(f.content))
      .digest("hex");
  }

  /** The chart file Helm would use for `ref` at `version`, or Helm's failure. */
  private resolveChart(ref: string, version: string): string | ExecResult {
    const fail = (msg: string): ExecResult => ({ code: 1, stdout: "", stderr: `Error: ${msg}\n` });
    if (ref.startsWith("/")) {
      const f = this.files.get(ref);
      if (!f) return fail(`path "${ref}" not found`);
      const data = f.data ?? Buffer.from(f.content);
      const local = join(scratch(), `${createHash("sha256").update(data).digest("hex")}.tgz`);
      if (!existsSync(local)) writeFileSync(local, data);
      return local;
    }
    const name = ref.replace(/\/+$/, "").split("/").pop()!;
    if (!ref.startsWith("oci://")) {
      const repo = ref.split("/")[0]!;
      if (!this.repos.some((r) => r.name === repo)) return fail(`repo ${repo} not found`);
    }
    const file = this.charts.get(`${name}-${version}`) ?? join(SHARED_CHARTS_DIR, `${name}-${version}.tgz`);
    if (!existsSync(file)) return fail(`chart "${name}" version "${version}" not found in ${ref}`);
    return file;
  }

  private showCrds(file: string): Promise<Json[]> {
    return cached(crdSets, chartDigest(file), async () => {
      const { stdout } = await realHelm(["show", "crds", file]);
      return parseAllDocuments(stdout)
        .map((d) => d.toJS() as Json)
        .filter((o) => o?.kind);
    });
  }

  /** `helm show crds ... | kubectl apply --server-side`: every CRD of the chart applied over the live ones. */
  private async applyCrds(ref: string, version: string): Promise<ExecResult> {
    if (!this.k3sInstalled) return { code: 127, stdout: "", stderr: "k3s: not found" };
    const file = this.resolveChart(ref, version);
    if (typeof file !== "string") return file;
    const crds = await this.showCrds(file);
    if (!crds.length)
      return { code: 1, stdout: "", stderr: `helm show crds printed no CRDs for ${ref} ${version}\n` };
    for (const crd of crds) this.store(structuredClone(crd));
    return { code: 0, stdout: "", stderr: "" };
  }

  /** What the live CRDs serve, as Helm's capabilities list them (`group/version` and `group/version/Kind`). */
  private apiVersions(): string[] {
    const out: string[] = [];
    for (const o of this.objects.values())
      if (o.kind === "CustomResourceDefinition")
        for (const v of (o.spec?.versions ?? []) as Json[])
          if (v.served)
            out.push(`${o.spec.group}/${v.name}`, `${o.spec.group}/${v.name}/${o.spec.names.kind}`);
    return out.sort();
  }

  /** Real `helm template` as the upgrade would render: values on stdin, the real post-renderer if any. */
  private async template(
    rel: string,
    ns: string,
    file: string,
    values: string,
    postRenderer: string | undefined,
    upgrade: boolean,
  ): Promise<Json[]> {
    const args = ["template", rel, file, "--namespace", ns, "--values", "-"];
    args.push(
      "--kube-version",
      this.kubeVersion,
      ...this.apiVersions().flatMap((a) => ["--api-versions", a]),
    );
    if (upgrade) args.push("--is-upgrade");
    // The post-renderer and the files beside it (patch.yaml), as powerstack wrote them on the node.
    const beside = postRenderer
      ? [...this.files]
          .filter(([p]) => dirname(p) === dirname(postRenderer))
          .sort(([a], [b]) => a.localeCompare(b))
      : [];
    const cacheKey = JSON.stringify([
      args.map((a) => (a === file ? chartDigest(file) : a)),
      values,
      postRenderer,
      beside.map(([p, f]) => [p, f.content]),
    ]);
    const stdout = await cached(renders, cacheKey, async () => {
      const env: Record<string, string> = {};
      if (postRenderer) {
        const dir = join(
          scratch(),
          `post-render-${createHash("sha256").update(cacheKey).digest("hex").slice(0, 16)}`,
        );
        mkdirSync(dir, { recursive: true });
        for (const [p, f] of beside) writeFileSync(join(dir, p.slice(dirname(p).length + 1)), f.content);
        const script = join(dir, postRenderer.slice(dirname(postRenderer).length + 1));
        chmodSync(script, 0o755);
        args.push("--post-renderer", script);
        env.POWERSTACK_KUBECTL = realTools().kubectl;
      }
      return (await realHelm(args, { stdin: values, env })).stdout;
    });
    return parseAllDocuments(stdout)
      .map((d) => d.toJS() as Json)
      .filter((o) => o?.kind);
  }

  /** An object Helm created or updated: its namespace, Helm's ownership annotations; uid kept on update. */
  private storeFromHelm(o: Json, rel: string, ns: string): string {
    const obj = structuredClone(o);
    obj.metadata ??= {};
    if (!CLUSTER_SCOPED.has(obj.kind) && !obj.metadata.namespace) obj.metadata.namespace = ns;
    obj.metadata.annotations = {
      ...obj.metadata.annotations,
      "meta.helm.sh/release-name": rel,
      "meta.helm.sh/release-namespace": ns,
    };
    const k = key(obj.kind, obj.metadata.namespace, obj.metadata.name);
    const live = this.objects.get(k);
    this.objects.delete(k);
    this.store(obj);
    if (live) {
      const now = this.objects.get(k)!;
      now.metadata.uid = live.metadata.uid;
      now.metadata.creationTimestamp = live.metadata.creationTimestamp;
    }
    return k;
  }

  /** Server-side apply: our fields over the live object, plus what the API server and controllers add. */
  private store(o: Json): void {
    const k = key(o.kind, o.metadata.namespace, o.metadata.name);
    const live = this.objects.get(k);
    const merged = live ? deepMerge(live, o) : structuredClone(o);
    if (!live) {
      merged.metadata.uid = `uid-${++this.uid}`;
      merged.metadata.creationTimestamp = "2025-01-01T00:00:00Z";
      if (o.kind === "Namespace") {
        merged.metadata.labels = {
          ...merged.metadata.labels,
          "kubernetes.io/metadata.name": o.metadata.name,
        };
        merged.spec = { finalizers: ["kubernetes"] };
        merged.status = { phase: "Active" };
      }
      if (o.kind === "PersistentVolume") {
        merged.spec.volumeMode = "Filesystem";
        merged.spec.claimRef = {
          ...merged.spec.claimRef,
          uid: `uid-claim-${this.uid}`,
          resourceVersion: "7",
        };
        merged.status = { phase: "Bound" };
      }
      if (o.kind === "PersistentVolumeClaim") {
        merged.spec.volumeMode = "Filesystem";
        merged.status = { phase: "Bound" };
      }
    }
    merged.metadata.resourceVersion = String(++this.uid);
    this.objects.set(k, merged);
  }
}

/** Real Helm's answers, per process: the same chart, values and post-renderer render the same objects. */
const renders = new Map<string, Promise<string>>();
const crdSets = new Map<string, Promise<Json[]>>();
const metas = new Map<string, Promise<{ name: string; version: string }>>();

function cached<T>(cache: Map<string, Promise<T>>, k: string, make: () => Promise<T>): Promise<T> {
  let p = cache.get(k);
  if (!p) cache.set(k, (p = make()));
  return p;
}

/** Caches key a chart by its content: the packaged chart and an uploaded copy of it render alike. */
const digests = new Map<string, string>();
function chartDigest(file: string): string {
  let d = digests.get(file);
  if (!d) digests.set(file, (d = createHash("sha256").update(readFileSync(file)).digest("hex")));
  return d;
}

let scratchDir: string | undefined;
/** One temp directory per process: uploaded archives (by sha256) and post-renderer copies. */
function scratch(): string {
  return (scratchDir ??= mkdtempSync(join(tmpdir(), "powerstack-fake-node-")));
}

function deepMerge(base: Json, over: Json): Json {
  const out: Json = structuredClone(base);
  for (const [k, v] of Object.entries(over))
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && out[k] && typeof out[k] === "object"
        ? deepMerge(out[k], v)
        : structuredClone(v);
  return out;
}

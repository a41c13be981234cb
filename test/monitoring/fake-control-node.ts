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
 */
import { createHash } from "node:crypto";
import { parseAllDocuments } from "yaml";
import { FACTS_SCRIPT } from "../../src/engine/facts.js";
import type { ExecOptions, ExecResult, Host } from "../../src/transport/host.js";
import type { Sent } from "../support/recording-host.js";

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
const CLUSTER_SCOPED = new Set(["Namespace", "StorageClass", "PersistentVolume"]);
const key = (kind: string, ns: string | undefined, name: string) =>
  `${kind}/${CLUSTER_SCOPED.has(kind) || !ns ? "" : `${ns}/`}${name}`;
const unq = (s: string) => s.replace(/^'|'$/g, "").replace(/'\\''/g, "'");

export class FakeControlNode implements Host {
  readonly sent: Sent[] = [];
  k3sInstalled = true;
  helmInstalled = true;
  readonly objects = new Map<string, Json>();
  readonly releases = new Map<string, Revision[]>();
  repos: Array<{ name: string; url: string }> = [];
  readonly files = new Map<string, { content: string; mode: string }>();
  readonly dirs = new Map<string, { mode: string; owner: string }>();
  readonly restarts: string[] = [];
  private uid = 0;

  constructor(readonly name = "ctl") {}

  async close(): Promise<void> {}

  /** Commands other than facts and probe batches: what acted on the node. */
  actions(): string[] {
    return this.sent
      .map((s) => s.command)
      .filter((c) => c !== FACTS_SCRIPT && !/@@[0-9a-f]+:0:begin/.test(c));
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const stdin = opts.stdin === undefined ? undefined : Buffer.from(opts.stdin);
    this.sent.push({ command, stdin });
    if (command === FACTS_SCRIPT) return { code: 0, stdout: `@@hostname\n${this.name}\n`, stderr: "" };
    if (/printf '\\n@@[0-9a-f]+:0:begin\\n'/.test(command)) return this.batch(command);
    return this.act(command, stdin?.toString("utf8") ?? "");
  }

  // --- probes ------------------------------------------------------------------------------------------

  private batch(script: string): ExecResult {
    const re =
      /printf '\\n@@([0-9a-f]+):(\d+):begin\\n'; \( ([\s\S]*?)\n\) 2>\/dev\/null; printf '\\n@@[0-9a-f]+:\d+:end:%d\\n' \$\?/g;
    let out = "";
    for (let m = re.exec(script); m; m = re.exec(script)) {
      const r = this.probe(m[3]!);
      out += `\n@@${m[1]}:${m[2]}:begin\n${r.stdout}\n@@${m[1]}:${m[2]}:end:${r.code}\n`;
    }
    return { code: 0, stdout: out, stderr: "" };
  }

  private probe(cmd: string): { stdout: string; code: number } {
    if (cmd.includes("@@kube-apply")) return { stdout: this.kubeProbe(cmd), code: 0 };
    if (cmd.includes("@@helm-release")) return { stdout: this.helmProbe(cmd), code: 0 };
    const file = /^if \[ -e '([^']+)' \] \|\| \[ -L/.exec(cmd);
    if (file) return { stdout: this.fileProbe(file[1]!), code: 0 };
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
      ? `@@helm-release history 0\n${JSON.stringify([hist.at(-1)!].map(({ values: _v, postRenderer: _p, ...r }) => r))}\n`
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

  // --- actions -----------------------------------------------------------------------------------------

  private act(cmd: string, stdin: string): ExecResult {
    const ok = (stdout = ""): ExecResult => ({ code: 0, stdout, stderr: "" });
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
    m = /kubectl rollout restart '([^']+)' -n '([^']+)'; fi$/.exec(cmd);
    if (m) {
      this.restarts.push(`${m[2]}/${m[1]}`);
      return ok();
    }
    m = /mv -f "\$t" '([^']+)'/.exec(cmd);
    if (m) {
      this.files.set(m[1]!, {
        content: stdin,
        mode: /chmod '(\d+)'/.exec(cmd)?.[1]?.replace(/^0/, "") ?? "644",
      });
      return ok();
    }
    m = /^mkdir -p -- '([^']+)' && chmod '(\d+)' -- '[^']+'(?: && chown '([^']+)')?/.exec(cmd);
    if (m) {
      this.dirs.set(m[1]!, { mode: m[2]!.replace(/^0/, ""), owner: m[3] ?? "root:root" });
      return ok();
    }
    const helm = "KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm ";
    if (cmd.startsWith(helm)) return this.helm(cmd.slice(helm.length), stdin);
    return { code: 127, stdout: "", stderr: `FakeControlNode: unknown command: ${cmd.slice(0, 200)}` };
  }

  private helm(args: string, stdin: string): ExecResult {
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
      for (const r of hist) if (r.status === "deployed") r.status = "superseded";
      hist.push({
        revision: hist.length + 1,
        status: "deployed",
        chart: `${chart!.split("/").pop()}-${version}`,
        app_version: "x",
        description: description!,
        values: stdin,
        postRenderer,
      });
      this.releases.set(`${ns}/${rel}`, hist);
      return { code: 0, stdout: "", stderr: "" };
    }
    return { code: 127, stdout: "", stderr: `FakeControlNode: unknown helm command: ${args.slice(0, 200)}` };
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

function deepMerge(base: Json, over: Json): Json {
  const out: Json = structuredClone(base);
  for (const [k, v] of Object.entries(over))
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && out[k] && typeof out[k] === "object"
        ? deepMerge(out[k], v)
        : structuredClone(v);
  return out;
}

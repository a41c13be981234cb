/**
 * Kubernetes objects, applied from manifests powerstack renders: created when missing, re-applied when
 * they drifted, left alone otherwise. kubectl runs on the control node (`k3s kubectl`, the server's admin
 * kubeconfig), and manifests reach it only on stdin: Secrets among them never appear in a command line.
 *
 * How it decides, and why not `kubectl diff`:
 *  - `kubectl diff` needs the manifest (Secrets included) at probe time, and a probe is a read-only
 *    snippet with no stdin; it also reports every server-side default as a difference.
 *  - So the probe fetches each object's live JSON (one `kubectl get -o json` per namespace) and `plan`
 *    compares only the fields we set: every leaf of our manifest must be equal in the live object; what
 *    the API server or a controller adds (uid, defaults, a PV's claimRef.uid, status) is not ours and is
 *    ignored. Quantities are compared by value (`1024Mi` is `1Gi`, as the API server may rewrite them).
 *  - Secrets are never read back: the probe hashes their type and data ON THE NODE (a go-template piped
 *    into sha256sum) and prints only the digest, which plan compares with the digest of what we would send.
 *    Labels and annotations of Secrets are therefore not compared (only their content matters to pods).
 *  - Apply is server-side (`--server-side --field-manager=powerstack --force-conflicts`): no
 *    `last-applied-configuration` annotation (client-side apply would copy a Secret's data into it), and a
 *    field someone changed by hand is taken back, which is what "drift -> apply" means.
 *
 * Two situations beyond plain drift:
 *  - A PersistentVolume with reclaim policy Retain whose claim was deleted is `Released`, still holding the
 *    old claim's uid: no new claim can bind it. When its claimRef names a claim that no longer exists, the
 *    uid is cleared so the claim of the same name (a reinstall) binds it again, with its data.
 *  - A Secret a workload reads only at start (Kepler's Redfish credentials): after an UPDATE of it the
 *    workload is restarted (`restartOnSecretUpdate`); a first creation restarts nothing.
 */
import { createHash } from "node:crypto";
import { parseAllDocuments, stringify } from "yaml";
import { InputError, PowerstackError } from "../errors.js";
import { defineFact } from "../engine/fact.js";
import type { FileDiff, Module } from "../engine/types.js";
import { K3S_BIN, KUBECTL } from "../facts/k3s.js";
import { shq } from "../transport/host.js";
import { run } from "../transport/run.js";

export { KUBECTL };
/** Our field manager for server-side apply: `kubectl get --show-managed-fields` names powerstack. */
export const FIELD_MANAGER = "powerstack";
export const APPLY_COMMAND = `${KUBECTL} apply --server-side --field-manager=${FIELD_MANAGER} --force-conflicts -f -`;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface Workload {
  kind: "daemonset" | "deployment" | "statefulset";
  namespace: string;
  name: string;
}

export interface KubeApplyParams {
  objects: KubeObject[];
  /** Restart this workload when a Secret among `objects` is updated (it reads the Secret only at start). */
  restartOnSecretUpdate?: Workload;
}

type Json = Record<string, unknown>;

export type LiveObject =
  | { state: "absent" }
  | { state: "present"; object: Json }
  /** A Secret: only the digest of its type and data, computed on the node. */
  | { state: "secret"; digest: string };

export interface KubeApplySeen {
  /** No K3s binary on the node: the cluster does not exist yet (check mode before the K3s play ran). */
  clusterAbsent: boolean;
  /** By objectKey(). */
  live: Map<string, LiveObject>;
  /** Reads that failed: what, and the tail of kubectl's error. */
  failures: string[];
}

export const objectKey = (o: { kind: string; metadata: { name: string; namespace?: string } }) =>
  `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;

/**
 * `storageclass.v1.storage.k8s.io/name` (kubectl's TYPE[.VERSION[.GROUP]]/NAME, the singular resource
 * name): fully qualified, so kubectl never guesses a group; core kinds as `configmap/name`.
 */
function resourceArg(o: KubeObject): string {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  const type = o.kind.toLowerCase();
  return group ? `${type}.${version}.${group}/${o.metadata.name}` : `${type}/${o.metadata.name}`;
}

// --- Secrets: compared by digest, computed the same way here and on the node ---------------------------

/**
 * kubectl's go-template ranges over a map in sorted key order (Go's text/template), one `key=base64` line
 * each after the type; `$(...)` in the probe drops the trailing newline, so the digest is of the lines
 * joined by "\n".
 */
const SECRET_TEMPLATE = '{{.type}}{{"\\n"}}{{range $k, $v := .data}}{{$k}}={{$v}}{{"\\n"}}{{end}}';

export function secretData(o: KubeObject): Record<string, string> {
  const data = { ...((o.data as Record<string, string> | undefined) ?? {}) };
  for (const [k, v] of Object.entries((o.stringData as Record<string, string> | undefined) ?? {}))
    data[k] = Buffer.from(v, "utf8").toString("base64");
  return data;
}

export function secretDigest(o: KubeObject): string {
  const data = secretData(o);
  const lines = [
    String(o.type ?? "Opaque"),
    ...Object.keys(data)
      .sort()
      .map((k) => `${k}=${data[k]}`),
  ];
  return createHash("sha256").update(lines.join("\n")).digest("hex");
}

const isSecret = (o: KubeObject) => o.kind === "Secret" && o.apiVersion === "v1";

// --- probe ---------------------------------------------------------------------------------------------

const MARK = "@@kube-apply";

function secretRead(o: KubeObject, i: number): string {
  const get = `${KUBECTL} get secret ${shq(o.metadata.name)} -n ${shq(o.metadata.namespace ?? "default")}`;
  // stdout only while hashing (a kubectl warning on stderr must not change the digest); on failure the
  // read is repeated for its error text, which holds no secret.
  return [
    `echo '${MARK} secret ${i}'`,
    `out=$(${get} --ignore-not-found -o go-template=${shq(SECRET_TEMPLATE)} 2>/dev/null); rc=$?`,
    `if [ $rc -ne 0 ]; then ${get} -o name 2>&1 | tail -n 3; elif [ -z "$out" ]; then echo absent; else printf '%s' "$out" | sha256sum; fi`,
    `echo "${MARK} rc $rc"`,
  ].join("; ");
}

function groupRead(objs: KubeObject[], namespace: string | undefined, i: number): string {
  const get = `${KUBECTL} get ${objs.map((o) => shq(resourceArg(o))).join(" ")}${namespace ? ` -n ${shq(namespace)}` : ""}`;
  return [
    `echo '${MARK} get ${i}'`,
    `${get} --ignore-not-found -o json 2>/dev/null; rc=$?`,
    `if [ $rc -ne 0 ]; then ${get} -o name 2>&1 | tail -n 3; fi`,
    `echo "${MARK} rc $rc"`,
  ].join("; ");
}

/** The reads: one `get -o json` per namespace for plain objects, one hashed read per Secret. */
function objectReads(p: Pick<KubeApplyParams, "objects">): Array<{ command: string; objects: KubeObject[] }> {
  const plain = new Map<string, KubeObject[]>();
  const secrets: KubeObject[] = [];
  for (const o of p.objects) {
    if (isSecret(o)) secrets.push(o);
    else plain.set(o.metadata.namespace ?? "", [...(plain.get(o.metadata.namespace ?? "") ?? []), o]);
  }
  const groups = [...plain.values(), ...secrets.map((s) => [s])];
  return groups.map((objects, i) => ({
    objects,
    command: isSecret(objects[0]!)
      ? secretRead(objects[0]!, i)
      : groupRead(objects, objects[0]!.metadata.namespace, i),
  }));
}

export function probeCommand(p: Pick<KubeApplyParams, "objects">): string {
  return `if [ ! -x ${K3S_BIN} ]; then echo '${MARK} k3s-absent'; else ${objectReads(p)
    .map((r) => r.command)
    .join("; ")}; fi`;
}

/**
 * The live state of the objects (by identity: kind, name, namespace; the probe reads nothing else of
 * them). A kubectl read that fails is kept in `failures`: plan refuses with the reason.
 */
export const liveObjects = defineFact<KubeApplySeen, KubeObject[]>({
  name: "kube-objects",
  key: (objects) => objects.map(objectKey).join(","),
  command: (objects) => probeCommand({ objects }),
  parse: (out, objects) => parseProbe(out.stdout, { objects }),
});

export function parseProbe(stdout: string, p: Pick<KubeApplyParams, "objects">): KubeApplySeen {
  const seen: KubeApplySeen = { clusterAbsent: false, live: new Map(), failures: [] };
  if (stdout.includes(`${MARK} k3s-absent`)) {
    seen.clusterAbsent = true;
    for (const o of p.objects) seen.live.set(objectKey(o), { state: "absent" });
    return seen;
  }
  const sections = new Map<number, { body: string; rc: number }>();
  const re = new RegExp(`^${MARK} (?:get|secret) (\\d+)\\n([\\s\\S]*?)^${MARK} rc (\\d+)$`, "gm");
  for (let m = re.exec(stdout); m; m = re.exec(stdout))
    sections.set(Number(m[1]), { body: m[2]!, rc: Number(m[3]) });
  objectReads(p).forEach((r, i) => {
    const s = sections.get(i);
    const names = r.objects.map(objectKey).join(", ");
    if (!s) {
      seen.failures.push(`${names}: no answer from the node`);
      return;
    }
    if (s.rc !== 0) {
      seen.failures.push(`${names}: kubectl exit ${s.rc}${s.body.trim() ? `: ${s.body.trim()}` : ""}`);
      return;
    }
    for (const o of r.objects) seen.live.set(objectKey(o), { state: "absent" });
    if (isSecret(r.objects[0]!)) {
      const digest = /^([0-9a-f]{64})\b/.exec(s.body.trim())?.[1];
      if (digest) seen.live.set(objectKey(r.objects[0]!), { state: "secret", digest });
      return;
    }
    if (!s.body.trim()) return;
    let parsed: Json;
    try {
      parsed = JSON.parse(s.body) as Json;
    } catch {
      seen.failures.push(`${names}: kubectl printed something that is not JSON`);
      return;
    }
    // kubectl prints a List for several names, the bare object for one.
    const items = parsed.kind === "List" ? ((parsed.items as Json[]) ?? []) : [parsed];
    for (const item of items) {
      const meta = (item.metadata ?? {}) as { name: string; namespace?: string };
      const key = objectKey({ kind: String(item.kind), metadata: meta });
      if (seen.live.has(key)) seen.live.set(key, { state: "present", object: item });
    }
  });
  return seen;
}

// --- plan: compare the fields we set --------------------------------------------------------------------

const QUANTITY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E|m)?$/;
const FACTOR: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity in its base unit (bytes for storage), or undefined when it is not one. */
export function quantityValue(q: string): number | undefined {
  const m = QUANTITY.exec(q);
  return m ? Number(m[1]) * FACTOR[m[2] ?? ""]! : undefined;
}

/** Keys whose values are quantities the API server may canonicalise (`storage: 1024Mi` -> `1Gi`). */
const QUANTITY_KEYS = new Set(["storage", "cpu", "memory"]);

function sameScalar(key: string, want: unknown, have: unknown): boolean {
  if (want === have) return true;
  if (QUANTITY_KEYS.has(key) && typeof want === "string" && typeof have === "string") {
    const a = quantityValue(want);
    return a !== undefined && a === quantityValue(have);
  }
  return false;
}

/** Paths (dotted) where `live` lacks or differs from a value `want` sets. */
export function differences(want: unknown, live: unknown, path = "", key = ""): string[] {
  if (Array.isArray(want)) {
    if (!Array.isArray(live) || live.length !== want.length) return [path];
    return want.flatMap((w, i) => differences(w, live[i], `${path}[${i}]`, key));
  }
  if (want !== null && typeof want === "object") {
    if (live === null || typeof live !== "object" || Array.isArray(live)) return [path];
    return Object.entries(want as Json).flatMap(([k, w]) =>
      differences(w, (live as Json)[k], path ? `${path}.${k}` : k, k),
    );
  }
  return sameScalar(key, want, live) ? [] : [path];
}

/** The live object cut to the shape of ours: what --diff shows as "before". */
export function projection(want: unknown, live: unknown): unknown {
  if (Array.isArray(want) && Array.isArray(live)) return live.map((l, i) => projection(want[i], l));
  if (want !== null && typeof want === "object" && live !== null && typeof live === "object") {
    const out: Json = {};
    for (const k of Object.keys(want as Json))
      if ((live as Json)[k] !== undefined) out[k] = projection((want as Json)[k], (live as Json)[k]);
    return out;
  }
  return live;
}

/** What we compare: everything but the identity (apiVersion, kind, name, namespace). */
function managed(o: KubeObject): Json {
  const { apiVersion: _a, kind: _k, metadata, ...rest } = o;
  const meta: Json = {};
  if (metadata.labels) meta.labels = metadata.labels;
  if (metadata.annotations) meta.annotations = metadata.annotations;
  return Object.keys(meta).length ? { metadata: meta, ...rest } : rest;
}

export type Verdict =
  | { object: KubeObject; action: "create" | "update"; fields?: string[] }
  | { object: KubeObject; action: "free-volume" };

/** Pure: what each object needs, in the order given. */
export function verdicts(seen: KubeApplySeen, p: KubeApplyParams): Verdict[] {
  if (seen.failures.length) {
    throw new PowerstackError(
      `reading Kubernetes objects on the control node failed:\n    ${seen.failures.join("\n    ")}`,
      undefined,
      "check that K3s answers (`k3s kubectl get nodes` on the control node, `systemctl status k3s`) and rerun",
    );
  }
  const out: Verdict[] = [];
  for (const o of p.objects) {
    const live = seen.live.get(objectKey(o)) ?? { state: "absent" };
    if (live.state === "absent") {
      out.push({ object: o, action: "create" });
    } else if (live.state === "secret") {
      if (live.digest !== secretDigest(o)) out.push({ object: o, action: "update", fields: ["data"] });
    } else {
      const fields = differences(managed(o), live.object);
      if (fields.length) out.push({ object: o, action: "update", fields });
      if (o.kind === "PersistentVolume" && needsFreeing(live.object))
        out.push({ object: o, action: "free-volume" });
    }
  }
  return out;
}

/** A Released PV still bound (by uid) to a claim that is gone: a new claim of that name cannot bind it. */
function needsFreeing(pv: Json): boolean {
  const phase = (pv.status as Json | undefined)?.phase;
  const ref = (pv.spec as Json | undefined)?.claimRef as Json | undefined;
  return phase === "Released" && typeof ref?.uid === "string";
}

/** One object to create or update, a Released volume to free, or a workload to restart. */
export type KubeAction =
  | {
      kind: "create" | "update";
      object: KubeObject;
      fields?: string[];
      diff?: FileDiff;
      clusterAbsent: boolean;
    }
  | { kind: "free-volume"; object: KubeObject }
  | { kind: "restart"; workload: Workload };

const label = (o: KubeObject) =>
  `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;

function toAction(v: Verdict, seen: KubeApplySeen): KubeAction {
  const o = v.object;
  if (v.action === "free-volume") return { kind: "free-volume", object: o };
  if (v.action === "create")
    return {
      kind: "create",
      object: o,
      clusterAbsent: seen.clusterAbsent,
      ...(isSecret(o) ? {} : { diff: { path: label(o), before: "", after: stringify(managed(o)) } }),
    };
  const live = seen.live.get(objectKey(o));
  return {
    kind: "update",
    object: o,
    fields: v.fields,
    clusterAbsent: false,
    // A Secret's content is never shown; for the rest, the live fields we manage against ours.
    ...(live?.state === "present"
      ? {
          diff: {
            path: label(o),
            before: stringify(projection(managed(o), live.object)),
            after: stringify(managed(o)),
          },
        }
      : {}),
  };
}

export function restartCommand(w: Workload): string {
  const ref = `${w.kind}/${w.name}`;
  return `if ${KUBECTL} get ${shq(ref)} -n ${shq(w.namespace)} -o name >/dev/null 2>&1; then ${KUBECTL} rollout restart ${shq(ref)} -n ${shq(w.namespace)}; fi`;
}

export function freeVolumeCommand(name: string): string {
  return `${KUBECTL} patch persistentvolume ${shq(name)} --type=merge -p ${shq('{"spec":{"claimRef":{"uid":null,"resourceVersion":null}}}')}`;
}

/** The manifest stream sent on stdin. */
export function manifestStream(objects: KubeObject[]): string {
  return objects.map((o) => stringify(o)).join("---\n");
}

export const kubeApply: Module<KubeApplyParams, { live: KubeApplySeen }, KubeAction> = {
  name: "kube-apply",
  reads: (p) => ({ live: liveObjects.of(p.objects) }),
  plan({ live }, p) {
    const vs = verdicts(live, p);
    const actions = vs.map((v) => toAction(v, live));
    const w = p.restartOnSecretUpdate;
    if (w && vs.some((v) => v.action === "update" && isSecret(v.object)))
      actions.push({ kind: "restart", workload: w });
    return actions;
  },
  describe(a) {
    switch (a.kind) {
      case "free-volume":
        return `free ${label(a.object)} for a new claim of the same name (Released; its data is kept)`;
      case "create":
        return `create ${label(a.object)}${a.clusterAbsent ? " (once K3s is installed)" : ""}`;
      case "update":
        return `update ${label(a.object)} (${a.fields!.join(", ")} differ${a.fields!.length === 1 ? "s" : ""})`;
      case "restart":
        return `restart ${a.workload.kind} ${a.workload.namespace}/${a.workload.name} (it reads the updated Secret only at start)`;
    }
  },
  // A change in the cluster may change any read of it (objects, releases, volumes, nodes, Grafana's login).
  touches: () => "all",
  async apply({ host }, actions) {
    if (actions.some((a) => a.kind === "create" && a.clusterAbsent))
      throw new PowerstackError(
        `K3s is not installed on ${host.name}: there is no cluster to apply Kubernetes objects to`,
        undefined,
        "run the K3s plays first (`powerstack up` without --only, or with --only k3s-server,k3s-ready)",
      );
    // Every object in one server-side apply; then the volumes to free and the restart, in plan order.
    const objects = actions.flatMap((a) => (a.kind === "create" || a.kind === "update" ? [a.object] : []));
    if (objects.length) await run(host, APPLY_COMMAND, { stdin: manifestStream(objects), timeoutSec: 180 });
    for (const a of actions) {
      if (a.kind === "free-volume")
        await run(host, freeVolumeCommand(a.object.metadata.name), { timeoutSec: 60 });
      if (a.kind === "restart") await run(host, restartCommand(a.workload), { timeoutSec: 60 });
    }
  },
};

// --- manifests built in code (the ones with secrets, and namespaces) -------------------------------------

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "powerstack" };

export function namespaceObject(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { ...MANAGED_BY, ...labels } } };
}

/** An Opaque Secret; values are sent base64-encoded in `data` (what the API stores and the probe hashes). */
export function secretObject(namespace: string, name: string, values: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace, labels: { ...MANAGED_BY } },
    type: "Opaque",
    data: Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]),
    ),
  };
}

/** Objects from a rendered multi-document manifest; `source` (the template) names it in errors. */
export function parseManifests(text: string, source: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc, i) => {
      if (doc.errors.length)
        throw new InputError(`${source}: document ${i + 1} is not valid YAML: ${doc.errors[0]!.message}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null)
    .map((o, i) => {
      if (!o.apiVersion || !o.kind || !o.metadata?.name)
        throw new InputError(`${source}: document ${i + 1} lacks apiVersion, kind or metadata.name`);
      return o;
    });
}

/**
 * CROSS-REFERENCES of the real artifacts: what `powerstack render` writes (writeRendered into a temp dir),
 * templated by the real Helm 3.17.3 against the exact pinned charts (Kepler through its real
 * post-renderer and the real kubectl's kustomize), for the example inventory and variants (both Kepler
 * lines, Slack on and off, a node without a BMC). Each test checks one reference that breaks a real
 * cluster when it dangles: a ServiceMonitor no Prometheus selects, a claim no volume binds, a Secret or
 * key nobody creates, a Redfish file mounted where Kepler does not read it, and so on. Every rendered
 * object, and every object powerstack applies itself, must also pass the Kubernetes 1.31 / CRD schemas.
 *
 * Helm runs once per variant and release (beforeAll). What a live API server, kubelet, operator or NFS
 * server would still do differently is listed at the end of this file.
 */
import { dirname, posix } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireCharts } from "../support/real-helm.js";
import { k8sValidator, type K8sSchemaValidator } from "../support/k8s-schema.js";
import {
  allManifestObjects,
  bytes,
  containersOf,
  nsOf,
  ofKind,
  one,
  podSpec,
  renderVariant,
  secretKeys,
  secretValue,
  selectorMatches,
  tolerates,
  VARIANTS,
  type Obj,
  type RenderedRelease,
  type RenderedVariant,
} from "./rendered.js";

const haveCharts = requireCharts();

const CONTROL_PLANE_TAINT = { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" };

const rendered = new Map<string, RenderedVariant>();
let validator: K8sSchemaValidator;
const timings: string[] = [];

// ---- what each variant rendered ---------------------------------------------------------------------

function releases(v: RenderedVariant): { kps: RenderedRelease; kepler: RenderedRelease } {
  const all = Object.values(v.releases);
  const kps = all.find((r) => r.chart === "kubePrometheusStack");
  const kepler = all.find((r) => r.chart === "keplerCurrent" || r.chart === "keplerLegacy");
  if (!kps || !kepler)
    throw new Error(`index.json names releases ${all.map((r) => r.entry.name).join(", ")}: need both`);
  return { kps, kepler };
}

/** The labels the API server gives a Namespace we create (its own plus kubernetes.io/metadata.name). */
function namespaceLabels(v: RenderedVariant, ns: string): Record<string, string> | undefined {
  const found = ofKind(allManifestObjects(v), "Namespace").filter((n) => n.metadata.name === ns);
  if (!found.length) return undefined;
  return Object.assign({}, ...found.map((n) => n.metadata.labels ?? {}), {
    "kubernetes.io/metadata.name": ns,
  });
}

/**
 * The operator's namespace selectors (serviceMonitorNamespaceSelector, ruleNamespaceSelector): null
 * means the Prometheus' own namespace only, {} every namespace, otherwise the namespaces' labels.
 */
function namespaceSelected(
  v: RenderedVariant,
  selector: Obj | null | undefined,
  ns: string,
  ownNs: string,
): string | undefined {
  if (selector == null)
    return ns === ownNs ? undefined : `the selector is null: only ${ownNs} is watched, not ${ns}`;
  const labels = namespaceLabels(v, ns);
  if (!labels)
    return `namespace ${ns} is created by no manifest of ours, so its labels are unknown (selector ${JSON.stringify(selector)})`;
  return selectorMatches(selector, labels)
    ? undefined
    : `namespace ${ns} (labels ${JSON.stringify(labels)}) does not match ${JSON.stringify(selector)}`;
}

/** Every object of both releases and our manifests, each with the namespace it lands in. */
function everything(v: RenderedVariant): Array<{ o: Obj; ns: string; from: string }> {
  const { kps, kepler } = releases(v);
  return [
    ...[kps, kepler].flatMap((r) =>
      r.objects.map((o) => ({ o, ns: nsOf(o, r.entry.namespace), from: `release ${r.entry.name}` })),
    ),
    ...Object.entries(v.manifests).flatMap(([path, objs]) =>
      objs.map((o) => ({ o, ns: nsOf(o, "default"), from: path })),
    ),
  ];
}

/** A Prometheus duration (`15s`, `1m30s`) in seconds. */
function seconds(d: string): number {
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  for (const m of String(d).matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return total;
}

/**
 * Whether a ServiceAccount may use verbs (list and watch) on a resource in a namespace: a ClusterRoleBinding to a
 * ClusterRole, or a RoleBinding in that namespace to a Role or ClusterRole (RBAC authorizer rules).
 */
function mayListWatch(
  v: RenderedVariant,
  saNs: string,
  sa: string,
  group: string,
  resource: string,
  targetNs: string,
  verbs: string[] = ["list", "watch"],
): boolean {
  const all = everything(v);
  const bindsSa = (b: Obj) =>
    (b.subjects ?? []).some(
      (x: Obj) => x.kind === "ServiceAccount" && x.name === sa && (x.namespace ?? saNs) === saNs,
    );
  const roleOf = (b: Obj, bindingNs: string) =>
    all.find(
      ({ o, ns }) =>
        o.kind === b.roleRef?.kind &&
        o.metadata.name === b.roleRef?.name &&
        (o.kind === "ClusterRole" || ns === bindingNs),
    )?.o;
  const roles = all
    .filter(
      ({ o, ns }) =>
        (o.kind === "ClusterRoleBinding" || (o.kind === "RoleBinding" && ns === targetNs)) && bindsSa(o),
    )
    .map(({ o, ns }) => roleOf(o, ns))
    .filter((r): r is Obj => !!r);
  const has = (xs: string[] | undefined, x: string) => (xs ?? []).includes(x) || (xs ?? []).includes("*");
  return roles.some((r) =>
    (r.rules ?? []).some(
      (rule: Obj) =>
        has(rule.apiGroups, group) &&
        has(rule.resources, resource) &&
        verbs.every((verb) => has(rule.verbs, verb)),
    ),
  );
}

// ---- the checks, each returning what is wrong ---------------------------------------------------------

function serviceMonitorProblems(v: RenderedVariant): string[] {
  const { kps, kepler } = releases(v);
  const problems: string[] = [];
  const prom = one(kps.objects, "Prometheus", "Prometheus CR in kube-prometheus-stack");
  const promNs = nsOf(prom, kps.entry.namespace);
  const sms = ofKind(kepler.objects, "ServiceMonitor");
  if (sms.length !== 1) return [`Kepler renders ${sms.length} ServiceMonitors, expected 1`];
  const sm = sms[0]!;
  const smNs = nsOf(sm, kepler.entry.namespace);
  const smName = `ServiceMonitor ${smNs}/${sm.metadata.name}`;
  const sel = prom.spec.serviceMonitorSelector;
  if (sel == null)
    problems.push(`Prometheus ${prom.metadata.name}: serviceMonitorSelector is null (selects none)`);
  else if (!selectorMatches(sel, sm.metadata.labels))
    problems.push(
      `${smName} labels ${JSON.stringify(sm.metadata.labels)} do not match the Prometheus' serviceMonitorSelector ${JSON.stringify(sel)}`,
    );
  const nsProblem = namespaceSelected(v, prom.spec.serviceMonitorNamespaceSelector, smNs, promNs);
  if (nsProblem) problems.push(`${smName}: serviceMonitorNamespaceSelector: ${nsProblem}`);

  // The ServiceMonitor's own selector: the Kepler Service, its port, and the Service's pods.
  const nsSel = sm.spec.namespaceSelector ?? {};
  const inScope = (ns: string) => nsSel.any === true || (nsSel.matchNames ?? [smNs]).includes(ns);
  const services = everything(v).filter(
    ({ o, ns }) =>
      o.kind === "Service" && inScope(ns) && selectorMatches(sm.spec.selector ?? {}, o.metadata.labels),
  );
  if (services.length !== 1)
    return [
      ...problems,
      `${smName} selector ${JSON.stringify(sm.spec.selector)} matches ${services.length} Services (${services.map((s) => s.o.metadata.name).join(", ")}), expected the Kepler Service`,
    ];
  const svc = services[0]!.o;
  const portNames = (svc.spec.ports ?? []).map((p: Obj) => p.name);
  for (const ep of sm.spec.endpoints ?? []) {
    if (ep.port !== undefined && !portNames.includes(ep.port))
      problems.push(
        `${smName} endpoint port ${ep.port} is not a port of Service ${svc.metadata.name} (${portNames.join(", ")})`,
      );
    // Prometheus refuses a scrape config whose timeout exceeds its interval (config.go), the operator
    // rejects such a ServiceMonitor: Kepler would silently not be scraped.
    const interval = ep.interval ?? prom.spec.scrapeInterval ?? "30s";
    if (ep.scrapeTimeout && seconds(ep.scrapeTimeout) > seconds(interval))
      problems.push(`${smName}: scrapeTimeout ${ep.scrapeTimeout} exceeds the interval ${interval}`);
    if (ep.port === undefined && ep.targetPort === undefined)
      problems.push(`${smName}: an endpoint names no port`);
  }
  const ds = one(kepler.objects, "DaemonSet", "Kepler DaemonSet");
  const podLabels = ds.spec.template.metadata.labels;
  if (!selectorMatches({ matchLabels: svc.spec.selector }, podLabels))
    problems.push(
      `Service ${svc.metadata.name} selector ${JSON.stringify(svc.spec.selector)} does not match Kepler's pods ${JSON.stringify(podLabels)}`,
    );
  const containerPorts = containersOf(podSpec(ds)!).flatMap((c) => c.ports ?? []);
  for (const p of svc.spec.ports ?? []) {
    const t = p.targetPort ?? p.port;
    const ok = containerPorts.some((cp: Obj) =>
      typeof t === "string" ? cp.name === t : cp.containerPort === t,
    );
    if (!ok)
      problems.push(
        `Service ${svc.metadata.name} port ${p.name} targets ${t}, which no Kepler container port is`,
      );
  }
  // The job label the operator gives Kepler's targets (spec.jobLabel's value on the Service, else the
  // Service's name) is the one our energy rules select with job=~"..." (else "Kepler down" never fires).
  const job: string = (sm.spec.jobLabel && svc.metadata.labels?.[sm.spec.jobLabel]) || svc.metadata.name;
  const rulesMap = (kps.values.additionalPrometheusRulesMap ?? {}) as Record<string, { groups: Obj[] }>;
  for (const g of Object.values(rulesMap).flatMap((r) => r.groups))
    for (const r of g.rules ?? [])
      for (const m of String(r.expr).matchAll(/\bjob\s*(=~|=)\s*"([^"]*)"/g)) {
        const ok = m[1] === "=" ? job === m[2] : new RegExp(`^(?:${m[2]})$`).test(job);
        if (!ok)
          problems.push(
            `rule ${r.alert ?? r.record}: job${m[1]}"${m[2]}" does not select Kepler's job "${job}"`,
          );
      }
  // Prometheus must be allowed to discover the targets in that namespace (its ClusterRole).
  const role = prom.spec.serviceDiscoveryRole ?? "Endpoints";
  const need: Array<[string, string]> =
    role === "EndpointSlice"
      ? [
          ["discovery.k8s.io", "endpointslices"],
          ["", "services"],
          ["", "pods"],
        ]
      : [
          ["", "endpoints"],
          ["", "services"],
          ["", "pods"],
        ];
  const sa = prom.spec.serviceAccountName;
  for (const [group, resource] of need)
    if (!mayListWatch(v, promNs, sa, group, resource, smNs))
      problems.push(
        `Prometheus' ServiceAccount ${promNs}/${sa} may not list/watch ${group || "core"}/${resource} in ${smNs} (role ${role})`,
      );
  return problems;
}

function ruleProblems(v: RenderedVariant): string[] {
  const { kps } = releases(v);
  const prom = one(kps.objects, "Prometheus");
  const promNs = nsOf(prom, kps.entry.namespace);
  const ours = kps.values.additionalPrometheusRulesMap as Record<string, { groups: Obj[] }> | undefined;
  if (!ours || !Object.keys(ours).length)
    return ["values.yaml has no additionalPrometheusRulesMap (the energy rules)"];
  const problems: string[] = [];
  for (const [key, body] of Object.entries(ours)) {
    const groupNames = body.groups.map((g) => g.name);
    const rules = ofKind(kps.objects, "PrometheusRule").filter(
      (r) => JSON.stringify((r.spec.groups ?? []).map((g: Obj) => g.name)) === JSON.stringify(groupNames),
    );
    if (rules.length !== 1) {
      problems.push(
        `additionalPrometheusRulesMap.${key} (groups ${groupNames.join(", ")}) rendered ${rules.length} PrometheusRules, expected 1`,
      );
      continue;
    }
    const rule = rules[0]!;
    const name = `PrometheusRule ${nsOf(rule, kps.entry.namespace)}/${rule.metadata.name}`;
    if (!isDeepStrictEqual(rule.spec.groups, body.groups))
      problems.push(`${name}: its groups differ from additionalPrometheusRulesMap.${key}`);
    if (prom.spec.ruleSelector == null)
      problems.push(`the Prometheus' ruleSelector is null: it loads no rule`);
    else if (!selectorMatches(prom.spec.ruleSelector, rule.metadata.labels))
      problems.push(
        `${name} labels ${JSON.stringify(rule.metadata.labels)} do not match ruleSelector ${JSON.stringify(prom.spec.ruleSelector)}`,
      );
    const nsProblem = namespaceSelected(
      v,
      prom.spec.ruleNamespaceSelector,
      nsOf(rule, kps.entry.namespace),
      promNs,
    );
    if (nsProblem) problems.push(`${name}: ruleNamespaceSelector: ${nsProblem}`);
  }
  return problems;
}

function grafanaDeployment(kps: RenderedRelease): Obj {
  const found = ofKind(kps.objects, "Deployment").filter((d) =>
    (podSpec(d)?.containers ?? []).some((c: Obj) => c.name === "grafana"),
  );
  if (found.length !== 1) throw new Error(`expected one Grafana Deployment, found ${found.length}`);
  return found[0]!;
}

function dashboardProblems(v: RenderedVariant): string[] {
  const { kps } = releases(v);
  const problems: string[] = [];
  const dep = grafanaDeployment(kps);
  const depNs = nsOf(dep, kps.entry.namespace);
  const spec = podSpec(dep)!;
  const sidecar = (spec.containers as Obj[]).find(
    (c) =>
      (c.env ?? []).some((e: Obj) => e.name === "FOLDER" && e.value) &&
      (c.env ?? []).some(
        (e: Obj) => e.name === "LABEL" && e.value === kps.values.grafana?.sidecar?.dashboards?.label,
      ),
  );
  if (!sidecar)
    return [`Grafana Deployment ${dep.metadata.name} has no dashboard sidecar for the label in values.yaml`];
  const env = Object.fromEntries(
    (sidecar.env as Obj[]).filter((e) => "value" in e).map((e) => [e.name, String(e.value)]),
  );
  const label = env.LABEL!;
  const labelValue = env.LABEL_VALUE;
  const watched =
    env.NAMESPACE === undefined
      ? [depNs]
      : env.NAMESPACE === "ALL"
        ? "ALL"
        : env.NAMESPACE.split(",").map((s: string) => s.trim());
  if (env.RESOURCE && !["both", "configmap"].includes(env.RESOURCE))
    problems.push(`the dashboard sidecar watches ${env.RESOURCE}, not ConfigMaps`);
  const cms = v.manifests["manifests/dashboards.yaml"] ?? [];
  if (cms.length === 0) problems.push("manifests/dashboards.yaml holds no ConfigMap");
  for (const cm of cms) {
    const name = `${cm.kind} ${cm.metadata.namespace}/${cm.metadata.name}`;
    if (cm.kind !== "ConfigMap") problems.push(`${name} is not a ConfigMap`);
    const have = cm.metadata.labels?.[label];
    if (have === undefined) problems.push(`${name} lacks the sidecar's label ${label}`);
    else if (labelValue !== undefined && have !== labelValue)
      problems.push(`${name}: label ${label}=${have}, the sidecar wants ${labelValue}`);
    if (watched !== "ALL" && !watched.includes(cm.metadata.namespace))
      problems.push(`${name} is outside the namespaces the sidecar watches (${watched.join(", ")})`);
    for (const [k, json] of Object.entries(cm.data ?? {})) {
      try {
        JSON.parse(String(json));
      } catch (e) {
        problems.push(`${name} ${k}: not JSON (${(e as Error).message})`);
      }
    }
  }
  // The sidecar may list/watch ConfigMaps where our dashboards are (its RBAC: ClusterRole when it watches ALL).
  const sa = spec.serviceAccountName ?? "default";
  for (const ns of new Set(cms.map((cm) => cm.metadata.namespace as string)))
    if (!mayListWatch(v, depNs, sa, "", "configmaps", ns))
      problems.push(
        `Grafana's ServiceAccount ${depNs}/${sa} may not list/watch ConfigMaps in ${ns}: the sidecar sees no dashboard`,
      );
  // The folder the sidecar writes is the one Grafana's dashboard provider reads.
  const folder = env.FOLDER!;
  const folderVolume = (sidecar.volumeMounts ?? []).find((m: Obj) => m.mountPath === folder)?.name;
  const grafana = (spec.containers as Obj[]).find((c) => c.name === "grafana")!;
  if (
    !folderVolume ||
    !(grafana.volumeMounts ?? []).some((m: Obj) => m.name === folderVolume && m.mountPath === folder)
  )
    problems.push(
      `the sidecar's folder ${folder} is not a volume shared with the grafana container at the same path`,
    );
  const providerMount = (grafana.volumeMounts ?? []).find((m: Obj) =>
    String(m.mountPath).startsWith("/etc/grafana/provisioning/dashboards/"),
  );
  const providerCm = (spec.volumes ?? []).find((vol: Obj) => vol.name === providerMount?.name)?.configMap
    ?.name;
  const provider = ofKind(kps.objects, "ConfigMap").find((c) => c.metadata.name === providerCm);
  const providerYaml = provider?.data?.[providerMount?.subPath ?? ""];
  const paths = providerYaml
    ? ((parse(providerYaml) as Obj).providers ?? []).map((p: Obj) => p.options?.path)
    : [];
  if (!paths.includes(folder))
    problems.push(
      `Grafana's dashboard provider (${providerCm ?? "none"}) reads ${paths.join(", ") || "nothing"}, not the sidecar's ${folder}`,
    );
  return problems;
}

interface Claim {
  what: string;
  namespace: string;
  name: string;
  spec: Obj;
}

/** The claims the operator creates from a Prometheus/Alertmanager CR (prometheus-operator statefulset.go). */
function operatorClaims(
  cr: Obj,
  ns: string,
  prefix: "prometheus" | "alertmanager",
  problems: string[],
): Claim[] {
  const vct = cr.spec.storage?.volumeClaimTemplate;
  if (!vct) {
    problems.push(
      `${cr.kind} ${cr.metadata.name} has no storage.volumeClaimTemplate: its data would be on an emptyDir`,
    );
    return [];
  }
  const replicas = (cr.spec.replicas ?? 1) * (cr.spec.shards ?? 1);
  if (replicas !== 1)
    problems.push(
      `${cr.kind} ${cr.metadata.name} runs ${replicas} pods: each needs a volume, powerstack makes one`,
    );
  const template = vct.metadata?.name ?? `${prefix}-${cr.metadata.name}-db`;
  const sts = `${prefix}-${cr.metadata.name}`;
  return [
    {
      what: `${cr.kind} ${cr.metadata.name}'s claim`,
      namespace: ns,
      name: `${template}-${sts}-0`,
      spec: vct.spec ?? {},
    },
  ];
}

/** Why a PV cannot bind a claim (the PV controller's checks), or undefined when it can. */
function bindRefusal(pv: Obj, c: Claim): string | undefined {
  const s = pv.spec ?? {};
  if (c.spec.volumeName && c.spec.volumeName !== pv.metadata.name)
    return `the claim names volume ${c.spec.volumeName}`;
  if (s.claimRef && (s.claimRef.name !== c.name || (s.claimRef.namespace ?? "default") !== c.namespace))
    return `reserved for ${s.claimRef.namespace}/${s.claimRef.name}`;
  if (c.spec.storageClassName == null)
    return "the claim has no storageClassName (K3s' default local-path class would be given to it)";
  if ((s.storageClassName ?? "") !== c.spec.storageClassName)
    return `storageClassName ${s.storageClassName} != ${c.spec.storageClassName}`;
  if ((s.volumeMode ?? "Filesystem") !== (c.spec.volumeMode ?? "Filesystem")) return "volumeMode differs";
  if (c.spec.selector && !selectorMatches(c.spec.selector, pv.metadata.labels))
    return `labels ${JSON.stringify(pv.metadata.labels)} do not match ${JSON.stringify(c.spec.selector)}`;
  const missing = (c.spec.accessModes ?? []).filter((m: string) => !(s.accessModes ?? []).includes(m));
  if (missing.length) return `access modes ${missing.join(", ")} missing`;
  const request = c.spec.resources?.requests?.storage;
  if (!request) return "the claim requests no storage";
  if (bytes(request) > bytes(s.capacity?.storage ?? "0"))
    return `capacity ${s.capacity?.storage} < request ${request}`;
  return undefined;
}

function storageProblems(v: RenderedVariant): string[] {
  const { kps } = releases(v);
  const problems: string[] = [];
  const claims: Claim[] = [];
  const prom = one(kps.objects, "Prometheus");
  const am = one(kps.objects, "Alertmanager");
  claims.push(...operatorClaims(prom, nsOf(prom, kps.entry.namespace), "prometheus", problems));
  claims.push(...operatorClaims(am, nsOf(am, kps.entry.namespace), "alertmanager", problems));
  const dep = grafanaDeployment(kps);
  const depNs = nsOf(dep, kps.entry.namespace);
  const grafanaClaims = (podSpec(dep)!.volumes ?? []).filter((vol: Obj) => vol.persistentVolumeClaim);
  if (grafanaClaims.length !== 1)
    problems.push(`Grafana mounts ${grafanaClaims.length} claims, expected its existingClaim`);
  const storage = v.manifests["manifests/cluster-storage.yaml"] ?? [];
  for (const vol of grafanaClaims) {
    const name = vol.persistentVolumeClaim.claimName;
    const pvc = ofKind(storage, "PersistentVolumeClaim").find(
      (p) => p.metadata.name === name && nsOf(p, "default") === depNs,
    );
    if (!pvc) problems.push(`Grafana's claim ${depNs}/${name} is not in manifests/cluster-storage.yaml`);
    else claims.push({ what: "Grafana's existingClaim", namespace: depNs, name, spec: pvc.spec });
  }
  const pvs = ofKind(storage, "PersistentVolume");
  const classes = ofKind(storage, "StorageClass").map((s) => s.metadata.name);
  for (const c of claims) {
    if (c.spec.storageClassName && !classes.includes(c.spec.storageClassName))
      problems.push(
        `${c.what} ${c.namespace}/${c.name}: StorageClass ${c.spec.storageClassName} is not in manifests/cluster-storage.yaml`,
      );
    const fits = pvs.filter((pv) => !bindRefusal(pv, c));
    if (fits.length !== 1) {
      problems.push(
        `${c.what} ${c.namespace}/${c.name} fits ${fits.length} of our PVs (${pvs.map((pv) => `${pv.metadata.name}: ${bindRefusal(pv, c) ?? "fits"}`).join("; ")})`,
      );
      continue;
    }
    const ref = fits[0]!.spec.claimRef;
    if (!ref || ref.name !== c.name || ref.namespace !== c.namespace)
      problems.push(
        `PV ${fits[0]!.metadata.name} binds ${c.what} but its claimRef is ${JSON.stringify(ref)}, not ${c.namespace}/${c.name}`,
      );
  }
  // Every PV of ours is for one of these claims (none left Available for a stray claim).
  for (const pv of pvs)
    if (!claims.some((c) => !bindRefusal(pv, c)))
      problems.push(
        `PV ${pv.metadata.name} (claimRef ${pv.spec.claimRef?.namespace}/${pv.spec.claimRef?.name}) is bound by none of the claims`,
      );
  return problems;
}

interface SecretRef {
  from: string;
  namespace: string;
  name: string;
  key?: string;
  optional?: boolean;
}

function secretRefs(v: RenderedVariant): SecretRef[] {
  const refs: SecretRef[] = [];
  for (const { o, ns, from } of everything(v)) {
    const spec = podSpec(o);
    const where = `${from}: ${o.kind} ${ns}/${o.metadata.name}`;
    if (spec) {
      for (const c of containersOf(spec)) {
        for (const e of c.env ?? []) {
          const r = e.valueFrom?.secretKeyRef;
          if (r)
            refs.push({
              from: `${where} container ${c.name} env ${e.name}`,
              namespace: ns,
              name: r.name,
              key: r.key,
              optional: r.optional,
            });
        }
        for (const e of c.envFrom ?? [])
          if (e.secretRef)
            refs.push({
              from: `${where} container ${c.name} envFrom`,
              namespace: ns,
              name: e.secretRef.name,
              optional: e.secretRef.optional,
            });
      }
      for (const vol of spec.volumes ?? []) {
        const sources: Obj[] = [
          ...(vol.secret
            ? [{ name: vol.secret.secretName, items: vol.secret.items, optional: vol.secret.optional }]
            : []),
          ...(vol.projected?.sources ?? []).filter((s: Obj) => s.secret).map((s: Obj) => s.secret),
        ];
        for (const s of sources) {
          const items: Obj[] = s.items ?? [];
          if (!items.length)
            refs.push({
              from: `${where} volume ${vol.name}`,
              namespace: ns,
              name: s.name,
              optional: s.optional,
            });
          for (const it of items)
            refs.push({
              from: `${where} volume ${vol.name}`,
              namespace: ns,
              name: s.name,
              key: it.key,
              optional: s.optional,
            });
        }
      }
      for (const p of spec.imagePullSecrets ?? [])
        refs.push({ from: `${where} imagePullSecrets`, namespace: ns, name: p.name });
    }
    if (o.kind === "Alertmanager" || o.kind === "Prometheus")
      for (const s of o.spec.secrets ?? [])
        refs.push({ from: `${where} spec.secrets`, namespace: ns, name: s });
    if (o.kind === "Alertmanager")
      refs.push({
        from: `${where} (its configuration Secret)`,
        namespace: ns,
        name: o.spec.configSecret || `alertmanager-${o.metadata.name}`,
        key: "alertmanager.yaml",
      });
  }
  const { kps } = releases(v);
  const admin = kps.values.grafana?.admin;
  if (admin?.existingSecret)
    for (const key of [admin.userKey ?? "admin-user", admin.passwordKey ?? "admin-password"])
      refs.push({
        from: "kube-prometheus-stack values grafana.admin.existingSecret",
        namespace: kps.entry.namespace,
        name: admin.existingSecret,
        key,
      });
  return refs;
}

/** Secrets that will exist: rendered by a chart, applied by powerstack, or made by a chart's hook Job. */
function availableSecrets(v: RenderedVariant): Map<string, { keys: string[]; by: string }> {
  const have = new Map<string, { keys: string[]; by: string }>();
  for (const { o, ns, from } of everything(v)) {
    if (o.kind === "Secret") have.set(`${ns}/${o.metadata.name}`, { keys: secretKeys(o), by: from });
    // kube-webhook-certgen (the admission hook Job): `create --secret-name=X --namespace=N` writes X with
    // keys ca, cert, key before install.
    if (o.kind === "Job" && String(o.metadata.annotations?.["helm.sh/hook"] ?? "").includes("pre-install"))
      for (const c of podSpec(o)?.containers ?? []) {
        const args: string[] = c.args ?? [];
        if (!String(c.image).includes("kube-webhook-certgen") || args[0] !== "create") continue;
        const arg = (n: string) => args.find((a) => a.startsWith(`--${n}=`))?.split("=")[1];
        const name = arg("secret-name");
        if (name)
          have.set(`${arg("namespace") ?? ns}/${name}`, {
            keys: ["ca", "cert", "key"],
            by: `${from} hook Job ${o.metadata.name}`,
          });
      }
  }
  return have;
}

function secretProblems(v: RenderedVariant): string[] {
  const have = availableSecrets(v);
  const problems: string[] = [];
  for (const r of secretRefs(v)) {
    if (r.optional) continue;
    const s = have.get(`${r.namespace}/${r.name}`);
    if (!s)
      problems.push(
        `${r.from}: Secret ${r.namespace}/${r.name} is rendered by no chart and applied by no manifest`,
      );
    else if (r.key && !s.keys.includes(r.key))
      problems.push(
        `${r.from}: Secret ${r.namespace}/${r.name} (from ${s.by}) has no key ${r.key} (keys: ${s.keys.join(", ")})`,
      );
  }
  return problems;
}

/** Slack: the webhook file the Alertmanager configuration names is a key of a Secret the CR mounts. */
function slackProblems(v: RenderedVariant): string[] {
  const { kps } = releases(v);
  const am = one(kps.objects, "Alertmanager");
  const ns = nsOf(am, kps.entry.namespace);
  const cfgSecret = ofKind(kps.objects, "Secret").find(
    (s) => s.metadata.name === (am.spec.configSecret || `alertmanager-${am.metadata.name}`),
  );
  const text = cfgSecret && secretValue(cfgSecret, "alertmanager.yaml");
  if (!text) return [`the Alertmanager configuration Secret of ${am.metadata.name} is not rendered`];
  const cfg = parse(text) as Obj;
  const slack = ((cfg.receivers ?? []) as Obj[]).flatMap((r) =>
    (r.slack_configs ?? []).map((s: Obj) => ({ receiver: r.name, s })),
  );
  const problems: string[] = [];
  const wantSlack = !!v.inventory.cluster.monitoring.slackWebhookSecret;
  if (!wantSlack)
    return slack.length
      ? [`Slack is off but receivers ${slack.map((x) => x.receiver).join(", ")} use it`]
      : [];
  if (!slack.length) problems.push("Slack is on but no receiver has slack_configs");
  const manifests = allManifestObjects(v);
  for (const { receiver, s } of slack) {
    if (s.api_url)
      problems.push(
        `receiver ${receiver}: api_url is inline in the chart's Secret (a credential in Helm values)`,
      );
    const file: string | undefined = s.api_url_file;
    const m = file && /^\/etc\/alertmanager\/secrets\/([^/]+)\/([^/]+)$/.exec(file);
    if (!m) {
      problems.push(
        `receiver ${receiver}: api_url_file ${file} is not under /etc/alertmanager/secrets/<secret>/<key>`,
      );
      continue;
    }
    const [, secret, key] = m;
    if (!(am.spec.secrets ?? []).includes(secret))
      problems.push(
        `receiver ${receiver}: ${file} is in Secret ${secret}, which the Alertmanager CR does not mount (spec.secrets ${JSON.stringify(am.spec.secrets)})`,
      );
    const ours = ofKind(manifests, "Secret").find(
      (o) => o.metadata.name === secret && o.metadata.namespace === ns,
    );
    if (!ours) problems.push(`receiver ${receiver}: Secret ${ns}/${secret} is not in our manifests`);
    else if (!secretKeys(ours).includes(key!))
      problems.push(`receiver ${receiver}: Secret ${secret} has no key ${key}`);
  }
  if (!cfg.route?.receiver || !(cfg.receivers ?? []).some((r: Obj) => r.name === cfg.route.receiver))
    problems.push(`the route's receiver ${cfg.route?.receiver} is not defined`);
  return problems;
}

/** The mount (and key) a file path resolves to in a container, following secret volumes. */
function fileInSecret(
  spec: Obj,
  container: Obj,
  file: string,
): { secret: string; key: string; mount: Obj } | string {
  for (const m of container.volumeMounts ?? []) {
    const vol = (spec.volumes ?? []).find((x: Obj) => x.name === m.name);
    if (!vol?.secret) continue;
    const items: Obj[] | undefined = vol.secret.items;
    const keyAt = (path: string) => (items ? items.find((i) => i.path === path)?.key : path);
    if (m.subPath && m.mountPath === file) {
      const key = keyAt(m.subPath);
      if (key) return { secret: vol.secret.secretName, key, mount: m };
    }
    if (!m.subPath && file.startsWith(`${m.mountPath}/`)) {
      const key = keyAt(file.slice(m.mountPath.length + 1));
      if (key) return { secret: vol.secret.secretName, key, mount: m };
    }
  }
  return `no Secret volume of container ${container.name} is mounted at ${file} (mounts: ${(container.volumeMounts ?? []).map((m: Obj) => `${m.name}:${m.mountPath}${m.subPath ? `[${m.subPath}]` : ""}`).join(", ")})`;
}

/** A mount nested in another mount of the same container (the runtime cannot create it in a read-only volume). */
function nestedIn(container: Obj, mount: Obj): Obj | undefined {
  return (container.volumeMounts ?? []).find(
    (m: Obj) =>
      m !== mount && String(mount.mountPath).startsWith(`${String(m.mountPath).replace(/\/$/, "")}/`),
  );
}

function keplerSecret(v: RenderedVariant, ns: string, name: string): Obj | undefined {
  return ofKind(v.manifests["manifests/kepler.yaml"] ?? [], "Secret").find(
    (s) => s.metadata.name === name && nsOf(s, "default") === ns,
  );
}

function redfishCurrentProblems(v: RenderedVariant): string[] {
  const { kepler } = releases(v);
  const ns = kepler.entry.namespace;
  const ds = one(kepler.objects, "DaemonSet", "Kepler DaemonSet");
  const spec = podSpec(ds)!;
  const c = (spec.containers as Obj[]).find((x) => x.name === "kepler");
  if (!c) return ["the Kepler DaemonSet has no container kepler"];
  const configArg = (c.args ?? []).find((a: string) => a.startsWith("--config.file="));
  if (!configArg) return ["kepler is started without --config.file"];
  const configPath = configArg.split("=")[1]!;
  const cfgMount = (c.volumeMounts ?? []).find((m: Obj) => m.mountPath === dirname(configPath));
  const cmName = (spec.volumes ?? []).find((x: Obj) => x.name === cfgMount?.name)?.configMap?.name;
  const cm = ofKind(kepler.objects, "ConfigMap").find((x) => x.metadata.name === cmName);
  const cfgText = cm?.data?.[posix.basename(configPath)];
  if (!cfgText) return [`${configPath} is not a key of a ConfigMap mounted at ${dirname(configPath)}`];
  const redfish = (parse(cfgText) as Obj).experimental?.platform?.redfish ?? {};
  const problems: string[] = [];
  // Kepler 0.11.4+ (the pinned chart): a node missing from the Redfish file logs a warning and runs on
  // (cmd/kepler/main.go "Redfish service unavailable, continuing"), so the file lists the nodes with a BMC.
  const withBmc = v.inventory.nodes.filter((n) => n.bmc).map((n) => n.name);
  if (!withBmc.length) {
    if (redfish.enabled) problems.push("Redfish is enabled although no node has a BMC");
    if (kepler.entry.post_render) problems.push("a post-renderer is named although Redfish is off");
    if (ofKind(v.manifests["manifests/kepler.yaml"] ?? [], "Secret").length)
      problems.push("a Redfish Secret is applied although Redfish is off");
    return problems;
  }
  if (redfish.enabled !== true)
    return ["every node has a BMC but config.yaml does not enable experimental.platform.redfish"];
  if (!kepler.entry.post_render)
    problems.push("index.json names no post-renderer for Kepler: nothing mounts the Redfish Secret");
  const file: string = redfish.configFile;
  const at = fileInSecret(spec, c, file);
  if (typeof at === "string") return [...problems, `redfish.configFile ${file}: ${at}`];
  const nested = nestedIn(c, at.mount);
  if (nested)
    problems.push(
      `the Redfish mount ${at.mount.mountPath} is inside the mount ${nested.mountPath} (${nested.name})`,
    );
  const secret = keplerSecret(v, ns, at.secret);
  if (!secret)
    return [...problems, `the Redfish volume's Secret ${ns}/${at.secret} is not in manifests/kepler.yaml`];
  const content = secretValue(secret, at.key);
  if (content === undefined) return [...problems, `Secret ${at.secret} has no key ${at.key}`];
  // Kepler v0.11.4 config/redfish: nodes: {node: bmcId}, bmcs: {bmcId: {endpoint, username, password, insecure}}.
  const bmc = parse(content) as Obj;
  const names = [...withBmc].sort();
  if (JSON.stringify(Object.keys(bmc.nodes ?? {}).sort()) !== JSON.stringify(names))
    problems.push(
      `redfish.yaml nodes ${Object.keys(bmc.nodes ?? {}).join(", ")} != the nodes with a BMC ${names.join(", ")}`,
    );
  for (const [node, id] of Object.entries(bmc.nodes ?? {})) {
    const d = bmc.bmcs?.[id as string];
    if (!d) problems.push(`redfish.yaml: node ${node} -> BMC ${id}, which bmcs lacks`);
    else if (!d.endpoint || !d.username || !d.password || typeof d.insecure !== "boolean")
      problems.push(`redfish.yaml: BMC ${id} lacks endpoint, username, password or a boolean insecure`);
  }
  // The node name Kepler looks up: redfish.nodeName, else --kube.node-name (config.go resolveNodeName).
  if (!String(redfish.nodeName ?? "").trim()) {
    const arg = (c.args ?? []).find((a: string) => a.startsWith("--kube.node-name="));
    const nodeEnv = (c.env ?? []).find((e: Obj) => e.name === "NODE_NAME");
    if (
      arg !== "--kube.node-name=$(NODE_NAME)" ||
      nodeEnv?.valueFrom?.fieldRef?.fieldPath !== "spec.nodeName"
    )
      problems.push(
        "Kepler's node name is not the Kubernetes node name (redfish.nodeName empty, --kube.node-name not from spec.nodeName)",
      );
  }
  return problems;
}

function redfishLegacyProblems(v: RenderedVariant): string[] {
  const { kepler } = releases(v);
  const ns = kepler.entry.namespace;
  const ds = one(kepler.objects, "DaemonSet", "Kepler DaemonSet");
  const spec = podSpec(ds)!;
  const c = (spec.containers as Obj[]).find((x) => x.name === "kepler-exporter");
  if (!c) return ["the legacy Kepler DaemonSet has no container kepler-exporter"];
  const problems: string[] = [];
  const withBmc = v.inventory.nodes.filter((n) => n.bmc).map((n) => n.name);
  const arg = (c.args ?? []).find((a: string) => a.startsWith("-redfish-cred-file-path="));
  if (!withBmc.length) return arg ? ["Redfish is on although no node has a BMC"] : [];
  if (!arg) return ["legacy Kepler is started without -redfish-cred-file-path"];
  const file = arg.split("=")[1]!;
  if (file !== "/etc/redfish/redfish.csv")
    problems.push(`legacy Kepler reads ${file}, not /etc/redfish/redfish.csv`);
  const at = fileInSecret(spec, c, file);
  if (typeof at === "string") return [...problems, `${file}: ${at}`];
  const name = kepler.values.redfish?.name;
  if (at.secret !== name)
    problems.push(`/etc/redfish is Secret ${at.secret}, values redfish.name is ${name}`);
  if (at.key !== "redfish.csv") problems.push(`the file is key ${at.key}, not redfish.csv`);
  const chartCopy = ofKind(kepler.objects, "Secret").filter((s) => s.metadata.name === at.secret);
  if (chartCopy.length)
    problems.push(`the chart's own Secret ${at.secret} is still rendered (the post-renderer must drop it)`);
  const secret = keplerSecret(v, ns, at.secret);
  const csv = secret && secretValue(secret, at.key);
  if (!csv)
    return [...problems, `Secret ${ns}/${at.secret} with key ${at.key} is not in manifests/kepler.yaml`];
  const rows = csv.split("\n").filter((l) => l.trim());
  if (JSON.stringify(rows.map((r) => r.split(",")[0]).sort()) !== JSON.stringify([...withBmc].sort()))
    problems.push(
      `redfish.csv rows ${rows.map((r) => r.split(",")[0]).join(", ")} != nodes with a BMC ${withBmc.join(", ")}`,
    );
  for (const r of rows) {
    const cols = r.split(",");
    if (cols.length !== 4 || cols.some((x) => !x))
      problems.push(`redfish.csv row for ${cols[0]}: needs 4 non-empty columns`);
  }
  return problems;
}

function hostPathMount(spec: Obj, container: Obj, hostPath: string): Obj | undefined {
  const vol = (spec.volumes ?? []).find((x: Obj) => x.hostPath?.path === hostPath);
  return vol && (container.volumeMounts ?? []).find((m: Obj) => m.name === vol.name);
}

function keplerPrivilegeProblems(v: RenderedVariant): string[] {
  const { kepler } = releases(v);
  const ds = one(kepler.objects, "DaemonSet", "Kepler DaemonSet");
  const spec = podSpec(ds)!;
  const problems: string[] = [];
  if (!tolerates(spec.tolerations, CONTROL_PLANE_TAINT))
    problems.push(
      `Kepler's tolerations ${JSON.stringify(spec.tolerations)} do not tolerate ${JSON.stringify(CONTROL_PLANE_TAINT)}`,
    );
  const nsLabels = namespaceLabels(v, kepler.entry.namespace);
  if (nsLabels?.["pod-security.kubernetes.io/enforce"] !== "privileged")
    problems.push(
      `namespace ${kepler.entry.namespace} does not allow privileged pods (Pod Security enforce=${nsLabels?.["pod-security.kubernetes.io/enforce"]})`,
    );
  const current = kepler.chart === "keplerCurrent";
  const c = (spec.containers as Obj[])[0]!;
  // Its API access: pods (workload attribution); current Kepler's kubelet pod informer (podInformer.mode
  // kubelet, the chart's default) reads the pod list through nodes/proxy.
  const ksa = spec.serviceAccountName ?? "default";
  const kns = kepler.entry.namespace;
  if (!mayListWatch(v, kns, ksa, "", "pods", "some-workload-namespace"))
    problems.push(`Kepler's ServiceAccount ${kns}/${ksa} may not list/watch pods cluster-wide`);
  if (current && !mayListWatch(v, kns, ksa, "", "nodes/proxy", "", ["get"]))
    problems.push(`Kepler's ServiceAccount ${kns}/${ksa} may not get nodes/proxy (its kubelet pod informer)`);
  if (c.securityContext?.privileged !== true)
    problems.push(`container ${c.name} is not privileged (RAPL energy_uj is root-only since Linux 5.10)`);
  if (current) {
    // Kepler 0.11: config host.procfs/sysfs name where the host's /proc and /sys are (read-only hostPaths);
    // hostPID so the /proc it reads holds the host's processes (chart daemonset.hostPID).
    if (spec.hostPID !== true) problems.push("current Kepler runs without hostPID");
    const cm = ofKind(kepler.objects, "ConfigMap")[0];
    const host = cm ? ((parse(cm.data?.["config.yaml"] ?? "{}") as Obj).host ?? {}) : {};
    for (const [hp, key] of [
      ["/proc", "procfs"],
      ["/sys", "sysfs"],
    ] as const) {
      const m = hostPathMount(spec, c, hp);
      if (!m) problems.push(`the host's ${hp} is not mounted into ${c.name}`);
      else if (m.mountPath !== host[key])
        problems.push(`the host's ${hp} is at ${m.mountPath}, config host.${key} is ${host[key]}`);
    }
  } else {
    // kepler-helm-chart 0.5.13: privileged, the host's /proc over /proc (host processes), /sys, /lib/modules,
    // /usr/src (kernel headers for eBPF), host network on port 9102. NOT hostPID: no version of that chart
    // sets it (Kepler's own v0.7.12 manifests do, PR #926, "to avoid collisions in the host PID namespace");
    // the processes Kepler attributes are read through the host's /proc mounted over /proc.
    for (const hp of ["/proc", "/sys", "/lib/modules", "/usr/src"]) {
      const m = hostPathMount(spec, c, hp);
      if (!m) problems.push(`the host's ${hp} is not mounted into ${c.name}`);
      else if (m.mountPath !== hp) problems.push(`the host's ${hp} is mounted at ${m.mountPath}`);
    }
    if (spec.hostNetwork !== true)
      problems.push("legacy Kepler is not on the host network (its 9102 hostPort)");
  }
  return problems;
}

function nodePortProblems(v: RenderedVariant): string[] {
  const { kps } = releases(v);
  const want = v.inventory.cluster.nodePorts;
  const prom = one(kps.objects, "Prometheus");
  const am = one(kps.objects, "Alertmanager");
  const services = ofKind(kps.objects, "Service");
  const problems: string[] = [];
  const check = (what: string, svcName: string, nodePort: number) => {
    const svc = services.find((s) => s.metadata.name === svcName);
    if (!svc) return problems.push(`${what}: no Service ${svcName}`);
    if (svc.spec.type !== "NodePort")
      return problems.push(`${what}: Service ${svcName} is ${svc.spec.type}, not NodePort`);
    const ports = (svc.spec.ports ?? []).filter((p: Obj) => p.nodePort !== undefined);
    if (ports.length < 1 || ports[0].nodePort !== nodePort)
      problems.push(
        `${what}: Service ${svcName} nodePorts ${JSON.stringify(ports.map((p: Obj) => p.nodePort))}, the inventory says ${nodePort}`,
      );
    if (nodePort < 30000 || nodePort > 32767)
      problems.push(`${what}: ${nodePort} is outside K3s' NodePort range 30000-32767`);
    return 0;
  };
  check("Prometheus", prom.metadata.name, want.prometheus);
  check("Alertmanager", am.metadata.name, want.alertmanager);
  check("Grafana", grafanaDeployment(kps).metadata.name, want.grafana);
  // The NodePort reaches the web port of the pods (Prometheus 9090, Alertmanager 9093, Grafana 3000).
  const grafanaSvc = services.find((s) => s.metadata.name === grafanaDeployment(kps).metadata.name);
  const gPort = grafanaSvc?.spec.ports?.find((p: Obj) => p.nodePort !== undefined);
  const gContainer = (podSpec(grafanaDeployment(kps))!.containers as Obj[]).find(
    (x) => x.name === "grafana",
  )!;
  if (
    gPort &&
    !(gContainer.ports ?? []).some(
      (cp: Obj) => cp.name === gPort.targetPort || cp.containerPort === gPort.targetPort,
    )
  )
    problems.push(
      `Grafana's NodePort targets ${gPort.targetPort}, which is no port of the grafana container`,
    );
  return problems;
}

/** Ports K3s itself holds on every node (K3s docs, "Inbound rules"), and what else the host network holds. */
const K3S_HOST_PORTS = [6443, 10250, 2379, 2380, 8472, 51820, 51821, 5001, 9345];

function hostPortProblems(v: RenderedVariant): string[] {
  const used = new Map<string, string>();
  const problems: string[] = [];
  for (const { o, ns, from } of everything(v)) {
    const spec = podSpec(o);
    if (!spec || o.kind === "Job" || o.kind === "CronJob") continue;
    // Every pod of a DaemonSet lands on every node; a Deployment's may land on any.
    for (const c of containersOf(spec))
      for (const p of c.ports ?? []) {
        const hostPort = spec.hostNetwork ? p.containerPort : p.hostPort;
        if (!hostPort) continue;
        const key = `${p.protocol ?? "TCP"}/${hostPort}`;
        const who = `${from}: ${o.kind} ${ns}/${o.metadata.name} ${c.name}`;
        if (K3S_HOST_PORTS.includes(hostPort)) problems.push(`${who} takes host port ${key}, which K3s uses`);
        const before = used.get(key);
        if (before && !before.startsWith(`${from}: ${o.kind} ${ns}/${o.metadata.name} `))
          problems.push(`${who} and ${before} both take host port ${key}`);
        used.set(key, who);
      }
  }
  return problems;
}

/** Namespaced kinds (of what is rendered here). */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "PersistentVolume",
  "StorageClass",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
  "PriorityClass",
  "IngressClass",
  "CSIDriver",
]);

function namespaceProblems(v: RenderedVariant): string[] {
  const problems: string[] = [];
  const created = new Set(ofKind(allManifestObjects(v), "Namespace").map((n) => n.metadata.name));
  // Every cluster has these (the chart puts its CoreDNS/kube-proxy scrape Services in kube-system).
  const builtIn = ["default", "kube-system", "kube-public", "kube-node-lease"];
  // Helm installs with --create-namespace, but powerstack applies each release's namespace first itself.
  for (const r of Object.values(v.releases))
    if (!created.has(r.entry.namespace))
      problems.push(`release ${r.entry.name}: namespace ${r.entry.namespace} is created by no manifest`);
  for (const [path, objs] of Object.entries(v.manifests))
    for (const o of objs) {
      const ns = o.metadata?.namespace;
      if (CLUSTER_SCOPED.has(o.kind)) {
        if (ns)
          problems.push(`${path}: ${o.kind} ${o.metadata.name} is cluster-scoped but names namespace ${ns}`);
      } else if (!ns)
        problems.push(
          `${path}: ${o.kind} ${o.metadata.name} names no namespace (kubectl would put it in the current context's)`,
        );
      else if (!created.has(ns))
        problems.push(
          `${path}: ${o.kind} ${o.metadata.name} is in namespace ${ns}, which no manifest creates`,
        );
    }
  for (const { o, ns, from } of everything(v))
    if (
      !CLUSTER_SCOPED.has(o.kind) &&
      from.startsWith("release") &&
      !created.has(ns) &&
      !builtIn.includes(ns)
    )
      problems.push(
        `${from}: ${o.kind} ${o.metadata.name} lands in namespace ${ns}, which no manifest creates`,
      );
  return problems;
}

/** An in-cluster URL `http://<svc>.<ns>[.svc...]:<port>/` resolves to a Service port we render. */
function serviceUrlProblem(v: RenderedVariant, url: string, what: string): string | undefined {
  const m = /^https?:\/\/([^.:/]+)\.([^.:/]+)(?:\.svc[^:/]*)?:(\d+)/.exec(url);
  if (!m) return `${what}: ${url} is not an in-cluster Service URL with a port`;
  const [, name, ns, port] = m;
  const svc = everything(v).find(
    ({ o, ns: n }) => o.kind === "Service" && o.metadata.name === name && n === ns,
  );
  if (!svc) return `${what}: ${url} names Service ${ns}/${name}, which nothing renders`;
  if (!(svc.o.spec.ports ?? []).some((p: Obj) => p.port === Number(port)))
    return `${what}: Service ${ns}/${name} has no port ${port}`;
  return undefined;
}

function wiringProblems(v: RenderedVariant): string[] {
  const { kps } = releases(v);
  const problems: string[] = [];
  const prom = one(kps.objects, "Prometheus");
  const promNs = nsOf(prom, kps.entry.namespace);
  for (const am of prom.spec.alerting?.alertmanagers ?? []) {
    const ns = am.namespace ?? promNs;
    const svc = everything(v).find(
      ({ o, ns: n }) => o.kind === "Service" && o.metadata.name === am.name && n === ns,
    );
    if (!svc) problems.push(`Prometheus alerts Service ${ns}/${am.name}, which nothing renders`);
    else if (!(svc.o.spec.ports ?? []).some((p: Obj) => p.name === am.port || p.port === am.port))
      problems.push(`Prometheus alerts ${ns}/${am.name} port ${am.port}, which that Service lacks`);
  }
  // Grafana's provisioned datasources (sidecar label grafana_datasource) and our dashboards' datasource uids.
  const uids = new Set<string>();
  for (const cm of ofKind(kps.objects, "ConfigMap").filter((c) => c.metadata.labels?.grafana_datasource)) {
    for (const [k, text] of Object.entries(cm.data ?? {})) {
      for (const ds of ((parse(String(text)) as Obj)?.datasources ?? []) as Obj[]) {
        if (ds.uid) uids.add(ds.uid);
        if (ds.url) {
          const p = serviceUrlProblem(v, ds.url, `datasource ${ds.name} (${cm.metadata.name} ${k})`);
          if (p) problems.push(p);
        }
      }
    }
  }
  const walk = (x: unknown, found: string[]) => {
    if (Array.isArray(x)) x.forEach((y) => walk(y, found));
    else if (x && typeof x === "object") {
      const ds = (x as Obj).datasource;
      if (ds && typeof ds === "object" && typeof ds.uid === "string") found.push(ds.uid);
      Object.values(x).forEach((y) => walk(y, found));
    }
    return found;
  };
  for (const cm of v.manifests["manifests/dashboards.yaml"] ?? [])
    for (const [k, json] of Object.entries(cm.data ?? {})) {
      const used = walk(JSON.parse(String(json)), []).filter((u) => !u.startsWith("$"));
      for (const u of new Set(used))
        if (!uids.has(u))
          problems.push(
            `dashboard ${cm.metadata.name} ${k} uses datasource uid ${u}; Grafana is given ${[...uids].join(", ")}`,
          );
    }
  return problems;
}

/**
 * What the API server's validation of a pod template checks beyond the OpenAPI schema
 * (pkg/apis/core/validation): an image per container, unique container and volume names, every mount
 * naming a volume of the pod, no two mounts of a container at one path (a duplicate env name is only a
 * warning there, the last one winning: flagged here as ambiguous).
 */
function podSpecProblems(v: RenderedVariant): string[] {
  const problems: string[] = [];
  const all = everything(v);
  const have = (kind: string, ns: string, name: string) =>
    all.find(({ o, ns: n }) => o.kind === kind && n === ns && o.metadata.name === name)?.o;
  for (const { o, ns, from } of everything(v)) {
    const spec = podSpec(o);
    if (!spec) continue;
    const where = `${from}: ${o.kind} ${ns}/${o.metadata.name}`;
    const volumes: string[] = (spec.volumes ?? []).map((x: Obj) => x.name);
    const dup = (xs: string[]) => xs.filter((x, i) => xs.indexOf(x) !== i);
    for (const d of dup(volumes)) problems.push(`${where}: volume ${d} is declared twice`);
    const containers = containersOf(spec);
    for (const d of dup(containers.map((c) => c.name)))
      problems.push(`${where}: container ${d} is declared twice`);
    // The ServiceAccount the pod runs as (a missing one stops the pods from being created).
    const sa = spec.serviceAccountName ?? spec.serviceAccount;
    if (sa && sa !== "default" && !have("ServiceAccount", ns, sa))
      problems.push(
        `${where}: ServiceAccount ${ns}/${sa} is rendered by no chart and applied by no manifest`,
      );
    // ConfigMaps it mounts or reads (a missing non-optional one keeps the pod in ContainerCreating).
    const cmRefs: Array<{ name: string; optional?: boolean; key?: string }> = [
      ...(spec.volumes ?? []).filter((x: Obj) => x.configMap).map((x: Obj) => x.configMap),
      ...(spec.volumes ?? []).flatMap((x: Obj) =>
        (x.projected?.sources ?? []).filter((src: Obj) => src.configMap).map((src: Obj) => src.configMap),
      ),
      ...containers.flatMap((c) =>
        (c.env ?? [])
          .filter((e: Obj) => e.valueFrom?.configMapKeyRef)
          .map((e: Obj) => e.valueFrom.configMapKeyRef),
      ),
      ...containers.flatMap((c) =>
        (c.envFrom ?? []).filter((e: Obj) => e.configMapRef).map((e: Obj) => e.configMapRef),
      ),
    ];
    for (const r of cmRefs) {
      if (r.optional) continue;
      const cm = have("ConfigMap", ns, r.name);
      if (!cm)
        problems.push(
          `${where}: ConfigMap ${ns}/${r.name} is rendered by no chart and applied by no manifest`,
        );
      else if (r.key && !(r.key in (cm.data ?? {})) && !(r.key in (cm.binaryData ?? {})))
        problems.push(`${where}: ConfigMap ${ns}/${r.name} has no key ${r.key}`);
    }
    for (const c of containers) {
      if (!c.image) problems.push(`${where}: container ${c.name} has no image`);
      for (const m of c.volumeMounts ?? [])
        if (!volumes.includes(m.name))
          problems.push(`${where}: container ${c.name} mounts ${m.name}, which is no volume of the pod`);
      for (const d of dup((c.volumeMounts ?? []).map((m: Obj) => m.mountPath)))
        problems.push(`${where}: container ${c.name} mounts two volumes at ${d}`);
      for (const d of dup((c.env ?? []).map((e: Obj) => e.name)))
        problems.push(`${where}: container ${c.name} sets env ${d} twice`);
    }
  }
  return problems;
}

// ---- the tests ----------------------------------------------------------------------------------------

describe.skipIf(!haveCharts)(
  "real artifacts: cross-references after helm template of what `powerstack render` writes",
  () => {
    beforeAll(async () => {
      const t0 = Date.now();
      const pending = [...VARIANTS];
      const worker = async () => {
        for (let v = pending.shift(); v; v = pending.shift()) {
          const r = await renderVariant(v.name, v.inventory());
          rendered.set(v.name, r);
          timings.push(
            `${v.name}: ${Object.values(r.releases)
              .map((x) => `${x.entry.name} ${x.ms} ms`)
              .join(", ")}`,
          );
        }
      };
      const [vv] = await Promise.all([k8sValidator(), worker(), worker(), worker()]);
      validator = vv;
      timings.push(`all variants and the CRD schemas: ${Date.now() - t0} ms`);
      if (process.env.POWERSTACK_TIMINGS) process.stderr.write(`${timings.join("\n")}\n`);
    }, 180_000);
    afterAll(() => {
      for (const r of rendered.values()) rmSync(r.dir, { recursive: true, force: true });
    });

    describe.each(VARIANTS)("real artifacts: $name", ({ name }) => {
      const v = () => rendered.get(name)!;

      test("Kepler's ServiceMonitor is selected by the Prometheus (labels, namespace) and selects the Kepler Service and its port", () => {
        expect(serviceMonitorProblems(v())).toEqual([]);
      });

      test("the energy PrometheusRule (additionalPrometheusRulesMap) matches the Prometheus' ruleSelector and ruleNamespaceSelector", () => {
        expect(ruleProblems(v())).toEqual([]);
      });

      test("the dashboard ConfigMaps carry the Grafana sidecar's label/value, in a namespace it watches, into the folder Grafana reads", () => {
        expect(dashboardProblems(v())).toEqual([]);
      });

      test("each claim (Prometheus, Alertmanager, Grafana) binds exactly one of our PVs, whose claimRef names exactly that claim", () => {
        expect(storageProblems(v())).toEqual([]);
      });

      test("every Secret and key a rendered pod or CR references is rendered by a chart or applied by powerstack", () => {
        expect(secretProblems(v())).toEqual([]);
      });

      test("Slack: Alertmanager's api_url_file is a key of a Secret the Alertmanager CR mounts (none when Slack is off)", () => {
        expect(slackProblems(v())).toEqual([]);
      });

      test("the Redfish credentials are mounted where Kepler reads them", () => {
        const current = releases(v()).kepler.chart === "keplerCurrent";
        expect(current ? redfishCurrentProblems(v()) : redfishLegacyProblems(v())).toEqual([]);
      });

      test("Kepler tolerates the control-plane taint and has the privileges and host mounts its line needs", () => {
        expect(keplerPrivilegeProblems(v())).toEqual([]);
      });

      test("the NodePorts of Prometheus, Alertmanager and Grafana are the inventory's", () => {
        expect(nodePortProblems(v())).toEqual([]);
      });

      test("no two host-network pods, nor K3s, take the same host port", () => {
        expect(hostPortProblems(v())).toEqual([]);
      });

      test("every namespaced object we apply names its namespace, and every namespace used is one we create", () => {
        expect(namespaceProblems(v())).toEqual([]);
      });

      test("Prometheus alerts a rendered Alertmanager Service port; Grafana's datasources are rendered Services; our dashboards use their uids", () => {
        expect(wiringProblems(v())).toEqual([]);
      });

      test("every pod template passes the API server's own rules (images, volume names, mount paths, env names)", () => {
        expect(podSpecProblems(v())).toEqual([]);
      });

      test("every rendered object of both releases and every object of manifests/*.yaml passes the Kubernetes 1.31 / CRD schemas", () => {
        const objs = everything(v()).map((x) => x.o);
        expect(objs.length).toBeGreaterThan(50);
        expect(validator.invalid(objs)).toEqual([]);
      });
    });
  },
);

describe.skipIf(!haveCharts)("real artifacts: the checks themselves catch a broken reference", () => {
  test("a ServiceMonitor label, a PV size, a Secret key and an unknown kind that are wrong are reported", async () => {
    const v =
      rendered.get(VARIANTS[1]!.name) ?? (await renderVariant(VARIANTS[1]!.name, VARIANTS[1]!.inventory()));
    const broken: RenderedVariant = structuredClone(v);
    const { kepler } = releases(broken);
    one(kepler.objects, "ServiceMonitor").metadata.labels = { release: "someone-else" };
    one(releases(broken).kps.objects, "Prometheus").spec.serviceMonitorSelector = {
      matchLabels: { release: "kube-prometheus-stack" },
    };
    expect(serviceMonitorProblems(broken).join("\n")).toMatch(
      /do not match the Prometheus' serviceMonitorSelector/,
    );
    const pv = ofKind(broken.manifests["manifests/cluster-storage.yaml"]!, "PersistentVolume")[0]!;
    pv.spec.capacity.storage = "1Gi";
    expect(storageProblems(broken).join("\n")).toMatch(/capacity 1Gi < request/);
    const admin = ofKind(broken.manifests["manifests/monitoring.yaml"]!, "Secret").find(
      (s) => s.metadata.name === "grafana-admin",
    )!;
    delete admin.data["admin-password"];
    expect(secretProblems(broken).join("\n")).toMatch(/has no key admin-password/);
    const ds = one(releases(broken).kepler.objects, "DaemonSet");
    ds.spec.template.spec.tolerations = [{ key: "node-role.kubernetes.io/master", operator: "Exists" }];
    expect(keplerPrivilegeProblems(broken).join("\n")).toMatch(/do not tolerate/);
    const mount = (ds.spec.template.spec.containers[0].volumeMounts as Obj[]).find(
      (m) => m.name === "powerstack-redfish",
    )!;
    mount.mountPath = "/etc/kepler/redfish";
    expect(redfishCurrentProblems(broken).join("\n")).toMatch(
      /no Secret volume of container kepler is mounted at/,
    );
    one(releases(broken).kps.objects, "Prometheus").spec.ruleSelector = { matchLabels: { release: "other" } };
    expect(ruleProblems(broken).join("\n")).toMatch(/do not match ruleSelector/);
    const dash = broken.manifests["manifests/dashboards.yaml"]![0]!;
    dash.metadata.labels.grafana_dashboard = "0";
    expect(dashboardProblems(broken).join("\n")).toMatch(/the sidecar wants 1/);
    for (const b of ofKind(releases(broken).kps.objects, "ClusterRoleBinding")) b.subjects = [];
    expect(dashboardProblems(broken).join("\n")).toMatch(/may not list\/watch ConfigMaps/);
    const validatorNow = await k8sValidator();
    expect(
      validatorNow.errors({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } })[0],
    ).toMatch(/unknown kind/);
    expect(
      validatorNow.errors({
        apiVersion: "policy/v1beta1",
        kind: "PodSecurityPolicy",
        metadata: { name: "p" },
      })[0],
    ).toMatch(/not served by Kubernetes 1.31/);
    expect(
      validatorNow
        .errors({
          apiVersion: "monitoring.coreos.com/v1",
          kind: "ServiceMonitor",
          metadata: { name: "s" },
          spec: { endpoints: [{ prot: "http" }] },
        })
        .join("\n"),
    ).toMatch(/prot/);
    const keplerDs = structuredClone(one(v.releases.kepler!.objects, "DaemonSet"));
    keplerDs.spec.template.spec.containers[0].volumeMounts[0].readonly = true;
    expect(validatorNow.errors(keplerDs).join("\n")).toMatch(/volumeMounts\[0\]\.readonly: unknown field/);
    const prom = structuredClone(one(v.releases["kube-prometheus-stack"]!.objects, "Prometheus"));
    prom.spec.retentionSzie = "1GB";
    expect(validatorNow.errors(prom).join("\n")).toMatch(/retentionSzie/);
    expect(
      validatorNow.errors({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "s" },
        spec: { ports: [{ port: "eighty" }] },
      }).length,
    ).toBeGreaterThan(0);
  });
});

/*
 * What a real cluster could still break that nothing here proves:
 *  - admission and defaulting by a live API server (webhooks, the operator's own admission webhook, CEL
 *    rules of the CRDs, field-level differences between Kubernetes 1.31 and the 1.33 models);
 *  - unknown fields below a free-form type (JSON, RawExtension) and fields added after Kubernetes 1.31;
 *  - the operator's generated StatefulSets (claim names are computed here from its documented rules);
 *  - NFS: that the export allows the node, that the pods' uids can write (no_root_squash, owners), mounts;
 *  - image pulls, Kepler's eBPF/RAPL on the real kernel, the BMCs answering, Grafana reading NFS SQLite.
 */

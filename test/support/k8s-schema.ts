/**
 * Validate any Kubernetes object against the schema the API server of the pinned K3s (v1.31.4+k3s1, i.e.
 * Kubernetes 1.31) would check it with, offline:
 *
 *  - Built-in kinds: the models of the npm package kubernetes-models@4.5.1 (`.validate()`, ajv code
 *    generated from the Kubernetes OpenAPI). That package is generated from Kubernetes 1.33 merged with
 *    the older APIs it still carries (there is no npm package pinned to 1.31), so on top of it this module
 *    REFUSES every apiVersion/kind that Kubernetes 1.31 does not serve (SERVED_1_31 below: the group/
 *    versions and kinds a 1.31 API server enables by default; removed betas such as policy/v1beta1,
 *    batch/v1beta1, autoscaling/v2beta2 and 1.33-only kinds such as networking.k8s.io/v1 IPAddress are
 *    refused). Field-level differences between 1.31 and 1.33 (fields added after 1.31) are NOT caught.
 *  - Custom resources (ServiceMonitor, PrometheusRule, Prometheus, Alertmanager, ...): ajv against the
 *    `openAPIV3Schema` of the CustomResourceDefinitions rendered from the pinned kube-prometheus-stack
 *    chart itself (`helm template --include-crds`), with the API server's strict field validation: a
 *    field the structural schema does not declare is an error (unless the schema preserves unknown
 *    fields), as `kubectl apply` (--validate=strict by default) reports it.
 *  - Anything else (an unknown kind or group/version) FAILS: nothing passes silently.
 *
 * Unknown fields of built-in kinds: kubernetes-models' schemas do not forbid them (the OpenAPI has no
 * additionalProperties: false), yet `kubectl apply` refuses them (--validate=strict) and Helm's API server
 * DROPS them with a mere warning (a misspelt `readOnly` in a post-render patch would silently vanish). So
 * every field of a built-in object is also looked up in the package's TypeScript declarations of that
 * kind (the same generated OpenAPI types), with the TypeScript compiler: a field no type declares is an
 * error.
 *
 * Known limits: CEL rules (x-kubernetes-validations) of the CRDs are not run.
 * Secrets and ConfigMaps holding `<vault:KEY>` placeholders validate like any string.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import * as models from "kubernetes-models";
import { join } from "node:path";
import ts from "typescript";
import { parseAllDocuments } from "yaml";
import { packageRoot } from "../../src/package-root.js";
import { chartPath, helm } from "./real-helm.js";

/** What a Kubernetes 1.31 API server serves by default (group/version -> kinds), built-in APIs only. */
export const SERVED_1_31: Record<string, readonly string[]> = {
  v1: [
    "Binding",
    "ComponentStatus",
    "ConfigMap",
    "Endpoints",
    "Event",
    "LimitRange",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Pod",
    "PodTemplate",
    "ReplicationController",
    "ResourceQuota",
    "Secret",
    "Service",
    "ServiceAccount",
  ],
  "admissionregistration.k8s.io/v1": [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
  ],
  "apiextensions.k8s.io/v1": ["CustomResourceDefinition"],
  "apiregistration.k8s.io/v1": ["APIService"],
  "apps/v1": ["ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"],
  "authentication.k8s.io/v1": ["SelfSubjectReview", "TokenRequest", "TokenReview"],
  "authorization.k8s.io/v1": [
    "LocalSubjectAccessReview",
    "SelfSubjectAccessReview",
    "SelfSubjectRulesReview",
    "SubjectAccessReview",
  ],
  "autoscaling/v1": ["HorizontalPodAutoscaler", "Scale"],
  "autoscaling/v2": ["HorizontalPodAutoscaler"],
  "batch/v1": ["CronJob", "Job"],
  "certificates.k8s.io/v1": ["CertificateSigningRequest"],
  "coordination.k8s.io/v1": ["Lease"],
  "discovery.k8s.io/v1": ["EndpointSlice"],
  "events.k8s.io/v1": ["Event"],
  "flowcontrol.apiserver.k8s.io/v1": ["FlowSchema", "PriorityLevelConfiguration"],
  // Deprecated, still served by 1.31 (removed in 1.32).
  "flowcontrol.apiserver.k8s.io/v1beta3": ["FlowSchema", "PriorityLevelConfiguration"],
  "networking.k8s.io/v1": ["Ingress", "IngressClass", "NetworkPolicy"],
  "node.k8s.io/v1": ["RuntimeClass"],
  "policy/v1": ["Eviction", "PodDisruptionBudget"],
  "rbac.authorization.k8s.io/v1": ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
  "scheduling.k8s.io/v1": ["PriorityClass"],
  "storage.k8s.io/v1": ["CSIDriver", "CSINode", "CSIStorageCapacity", "StorageClass", "VolumeAttachment"],
};

interface Model {
  new (data: unknown): { validate(): void };
  apiVersion: string;
  kind: string;
}

let builtIns: Map<string, Model> | undefined;

/** Every model class of kubernetes-models, by `apiVersion kind`. */
function builtInModels(): Map<string, Model> {
  if (builtIns) return builtIns;
  const found = new Map<string, Model>();
  const walk = (o: object, depth: number) => {
    for (const v of Object.values(o) as unknown[]) {
      if (typeof v === "function" && "apiVersion" in v && "kind" in v) {
        const m = v as unknown as Model;
        found.set(`${m.apiVersion} ${m.kind}`, m);
      } else if (v && typeof v === "object" && depth < 3) walk(v, depth + 1);
    }
  };
  walk(models, 0);
  return (builtIns = found);
}

export interface K8sObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: string; namespace?: string };
  [k: string]: unknown;
}

export const describeObject = (o: K8sObject) =>
  `${String(o.apiVersion)} ${String(o.kind)} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name ?? "(no name)"}`;

type CrdDoc = {
  kind: string;
  spec: {
    group: string;
    names: { kind: string };
    versions: Array<{
      name: string;
      served: boolean;
      schema?: { openAPIV3Schema?: Record<string, unknown> };
    }>;
  };
};

/** The API server's strict field validation: undeclared fields of a structural schema are errors. */
function strictSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(strictSchema);
  if (!s || typeof s !== "object") return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    out[k] =
      k === "properties" || k === "patternProperties" || k === "definitions"
        ? Object.fromEntries(Object.entries(v as object).map(([p, ps]) => [p, strictSchema(ps)]))
        : strictSchema(v);
  }
  if (
    out.type === "object" &&
    out.properties &&
    out.additionalProperties === undefined &&
    out["x-kubernetes-preserve-unknown-fields"] !== true
  )
    out.additionalProperties = false;
  return out;
}

const formatErrors = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map(
    (e) =>
      `${e.instancePath || "/"} ${e.message ?? e.keyword}${e.keyword === "additionalProperties" ? `: ${String((e.params as { additionalProperty: string }).additionalProperty)}` : ""}`,
  );

/**
 * CRD patterns are Go (RE2) regular expressions; JavaScript lacks RE2's inline `(?i)`: it is applied to
 * the whole pattern (every pattern of the pinned CRDs that uses it starts with it).
 */
const goRegExp = Object.assign(
  (pattern: string, flags: string) =>
    pattern.includes("(?i)")
      ? new RegExp(pattern.replaceAll("(?i)", ""), `${flags}i`)
      : new RegExp(pattern, flags),
  { code: "goRegExp" },
);

let fieldTypes: { checker: ts.TypeChecker; kinds: Map<string, ts.Type> } | undefined;

/** The declared type of every served built-in kind, from kubernetes-models' .d.ts (TypeScript compiler). */
function builtInFieldTypes(): { checker: ts.TypeChecker; kinds: Map<string, ts.Type> } {
  if (fieldTypes) return fieldTypes;
  const entry = join(packageRoot(), "__powerstack_k8s_kinds__.ts");
  const keys = Object.entries(SERVED_1_31).flatMap(([gv, kinds]) => kinds.map((k) => [gv, k] as const));
  const src = `export interface All {\n${keys
    .map(([gv, k]) => `  ${JSON.stringify(`${gv} ${k}`)}: import("kubernetes-models/${gv}/${k}").I${k};`)
    .join("\n")}\n}\n`;
  const options: ts.CompilerOptions = {
    moduleResolution: ts.ModuleResolutionKind.Node10,
    module: ts.ModuleKind.ESNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (f, lang, ...rest) =>
    f === entry ? ts.createSourceFile(f, src, lang) : getSourceFile(f, lang, ...rest);
  host.fileExists = (f) => f === entry || fileExists(f);
  const program = ts.createProgram([entry], options, host);
  const checker = program.getTypeChecker();
  const all = checker.getTypeAtLocation(
    (program.getSourceFile(entry)!.statements[0] as ts.InterfaceDeclaration).name,
  );
  const kinds = new Map<string, ts.Type>();
  for (const [gv, k] of keys) {
    const t = checker.getTypeOfSymbol(all.getProperty(`${gv} ${k}`)!);
    // An unresolved import is `any`: that kind then has no field check, so say so rather than pass.
    if (t.flags & ts.TypeFlags.Any) throw new Error(`kubernetes-models declares no type for ${gv} ${k}`);
    kinds.set(`${gv} ${k}`, t);
  }
  return (fieldTypes = { checker, kinds });
}

/** Fields of `value` that its declared type (and the types below it) do not have. */
function unknownFields(checker: ts.TypeChecker, value: unknown, type: ts.Type, path: string, out: string[]) {
  if (value === null || typeof value !== "object") return;
  let t = checker.getNonNullableType(type);
  if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
  if (t.isUnion()) {
    const objects = t.types.filter((m) => m.flags & ts.TypeFlags.Object);
    if (objects.length !== 1) return;
    t = objects[0]!;
  }
  if (Array.isArray(value)) {
    if (!checker.isArrayType(t)) return;
    const element = checker.getTypeArguments(t as ts.TypeReference)[0]!;
    value.forEach((v, i) => unknownFields(checker, v, element, `${path}[${i}]`, out));
    return;
  }
  const index = t.getStringIndexType();
  // A type that declares nothing (JSON, RawExtension, JSONSchemaPropsOrArray) is free-form.
  if (!index && t.getProperties().length === 0) return;
  for (const [k, v] of Object.entries(value)) {
    const prop = t.getProperty(k);
    if (prop) unknownFields(checker, v, checker.getTypeOfSymbol(prop), `${path}.${k}`, out);
    else if (index) unknownFields(checker, v, index, `${path}.${k}`, out);
    else out.push(`${path || "."}${path ? "." : ""}${k}: unknown field`);
  }
}

export class K8sSchemaValidator {
  private readonly crds = new Map<string, ValidateFunction>();

  /** `crds`: CustomResourceDefinition objects whose served versions' schemas validate custom resources. */
  constructor(crds: unknown[] = []) {
    const ajv = new Ajv({
      strict: false,
      allErrors: true,
      validateFormats: false,
      code: { regExp: goRegExp },
    });
    for (const c of crds as CrdDoc[]) {
      if (c?.kind !== "CustomResourceDefinition") continue;
      for (const v of c.spec.versions) {
        if (!v.served || !v.schema?.openAPIV3Schema) continue;
        this.crds.set(
          `${c.spec.group}/${v.name} ${c.spec.names.kind}`,
          ajv.compile(strictSchema(v.schema.openAPIV3Schema) as object),
        );
      }
    }
  }

  /** The kinds custom resources can be validated for (`group/version Kind`). */
  customKinds(): string[] {
    return [...this.crds.keys()];
  }

  /** Errors of one object; an empty list means valid. Unknown kinds are an error, never a pass. */
  errors(obj: unknown): string[] {
    const o = obj as K8sObject;
    if (!o || typeof o !== "object" || typeof o.apiVersion !== "string" || typeof o.kind !== "string")
      return ["not a Kubernetes object: apiVersion and kind must be strings"];
    const key = `${o.apiVersion} ${o.kind}`;
    const custom = this.crds.get(key);
    if (custom) return custom(o) ? [] : formatErrors(custom.errors);
    const served = SERVED_1_31[o.apiVersion];
    const model = builtInModels().get(key);
    if (!served?.includes(o.kind)) {
      return [
        model
          ? `${key} is not served by Kubernetes 1.31 (the pinned K3s v1.31.4+k3s1)`
          : `${key} is an unknown kind: neither a built-in Kubernetes 1.31 kind nor a CRD given to the validator`,
      ];
    }
    if (!model) return [`${key}: no schema for this built-in kind in kubernetes-models`];
    const errors: string[] = [];
    try {
      new model(o).validate();
    } catch (e) {
      const err = e as { errors?: ErrorObject[]; message: string };
      errors.push(...(err.errors ? formatErrors(err.errors) : [err.message]));
    }
    const { checker, kinds } = builtInFieldTypes();
    unknownFields(checker, o, kinds.get(key)!, "", errors);
    return errors;
  }

  /** Every invalid object of a list, each with its errors (empty when all pass). */
  invalid(objs: unknown[]): Array<{ object: string; errors: string[] }> {
    return objs
      .map((o) => ({ object: describeObject(o as K8sObject), errors: this.errors(o) }))
      .filter((r) => r.errors.length > 0);
  }
}

/** The CustomResourceDefinitions of the pinned kube-prometheus-stack chart, rendered by the real Helm. */
export async function kubePrometheusStackCrds(): Promise<unknown[]> {
  const { stdout } = await helm([
    "template",
    "crds",
    chartPath("kubePrometheusStack"),
    "--include-crds",
    "--kube-version",
    "1.31.4",
  ]);
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d?.kind === "CustomResourceDefinition");
}

let shared: Promise<K8sSchemaValidator> | undefined;

/** A validator for built-in kinds and the pinned kube-prometheus-stack's custom resources (cached). */
export function k8sValidator(): Promise<K8sSchemaValidator> {
  return (shared ??= kubePrometheusStackCrds().then((crds) => new K8sSchemaValidator(crds)));
}

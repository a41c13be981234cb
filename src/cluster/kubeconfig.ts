/**
 * Merge the K3s server's kubeconfig into the operator's as context `powerstack` (cluster, user and
 * context all named so), with the server URL pointing at the control node's external address. Other
 * contexts are left exactly as they were; current-context is set only when there was none.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse, stringify } from "yaml";
import { InputError } from "../errors.js";

interface Named {
  name: string;
  [k: string]: unknown;
}
interface KubeConfig {
  apiVersion?: string;
  kind?: string;
  clusters?: Named[];
  users?: Named[];
  contexts?: Named[];
  "current-context"?: string;
  [k: string]: unknown;
}

export function kubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = env.KUBECONFIG?.split(":").find(Boolean);
  return first ?? join(homedir(), ".kube", "config");
}

function upsert(list: Named[] | undefined, entry: Named): Named[] {
  const out = [...(list ?? [])];
  const i = out.findIndex((e) => e.name === entry.name);
  if (i >= 0) out[i] = entry;
  else out.push(entry);
  return out;
}

/** The merged document as an object (`undefined` local = no file yet). */
export function mergeKubeconfig(
  local: string | undefined,
  k3sYaml: string,
  opts: { name: string; server: string; source: string },
): KubeConfig {
  const server = parse(k3sYaml) as KubeConfig;
  const cluster = server.clusters?.[0]?.cluster as Record<string, unknown> | undefined;
  const user = server.users?.[0]?.user;
  if (!cluster || !user)
    throw new InputError(
      `${opts.source} is not a kubeconfig with a cluster and a user`,
      "check that K3s finished installing on the control node",
    );
  let base: KubeConfig;
  try {
    base = (local?.trim() ? parse(local) : undefined) ?? {};
  } catch (err) {
    throw new InputError(
      `${kubeconfigPath()} is not valid YAML: ${(err as Error).message}`,
      "fix or move that file; powerstack will not overwrite a file it cannot read",
    );
  }
  const name = opts.name;
  return {
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    ...base,
    clusters: upsert(base.clusters, { name, cluster: { ...cluster, server: opts.server } }),
    users: upsert(base.users, { name, user }),
    contexts: upsert(base.contexts, { name, context: { cluster: name, user: name } }),
    "current-context": base["current-context"] || name,
  };
}

/** New file content, or `undefined` when the local file already holds exactly this. */
export function mergedKubeconfigText(
  local: string | undefined,
  k3sYaml: string,
  opts: { name: string; server: string; source: string },
): string | undefined {
  const merged = mergeKubeconfig(local, k3sYaml, opts);
  const current = local?.trim() ? (parse(local) as KubeConfig) : undefined;
  return isDeepStrictEqual(current, merged) ? undefined : stringify(merged);
}

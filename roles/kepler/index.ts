/**
 * kepler (control node): the Kepler energy exporter by Helm, current (OCI chart) or legacy (repository
 * chart) line, its ServiceMonitor labelled for kube-prometheus-stack, and the BMCs' Redfish credentials
 * from the vault as a Kubernetes Secret applied over stdin. Runs after the monitoring role: the
 * ServiceMonitor needs the Prometheus operator's CRDs.
 */
import type { Role } from "../../src/engine/role.js";
import { task, type Task } from "../../src/engine/types.js";
import type { Inventory } from "../../src/inventory/types.js";
import { copy } from "../../src/modules/copy.js";
import { file } from "../../src/modules/file.js";
import { helmRelease, type HelmReleaseParams } from "../../src/modules/helm-release.js";
import { kubeApply, namespaceObject, secretObject, type KubeObject } from "../../src/modules/kube-apply.js";
import {
  keplerChart,
  KEPLER_DAEMONSET,
  KEPLER_RELEASE,
  POST_RENDER_DIR,
  POST_RENDER_PATCH,
  POST_RENDER_SCRIPT,
  REDFISH_KEY,
  REDFISH_SECRET,
} from "./release.js";
import { currentRedfishFile, legacyRedfishCsv, redfishPlan, type RedfishPlan } from "./redfish.js";
import { keplerValues, postRenderFiles } from "./values.js";

/** Kepler is a DaemonSet: on a first install every node pulls its image. */
export const KEPLER_TIMEOUT_SEC = 600;

/** Kepler needs privileged pods, hostPID and host mounts: its namespace allows them (Pod Security). */
export const PRIVILEGED = {
  "pod-security.kubernetes.io/enforce": "privileged",
  "pod-security.kubernetes.io/audit": "privileged",
  "pod-security.kubernetes.io/warn": "privileged",
};

/** What the kepler role sends: its namespace (and Redfish Secret), the post-renderer's files, the release. */
export interface KeplerArtifacts {
  plan: RedfishPlan;
  objects: KubeObject[];
  postRender?: { script: string; patch: string };
  release: HelmReleaseParams;
}

export function keplerArtifacts(inventory: Inventory, secret: (key: string) => string): KeplerArtifacts {
  const { kepler } = inventory.cluster;
  const plan = redfishPlan(inventory);
  const objects = [namespaceObject(kepler.namespace, PRIVILEGED)];
  let postRender: { script: string; patch: string } | undefined;
  if (plan.enabled) {
    const content =
      kepler.flavour === "current" ? currentRedfishFile(plan, secret) : legacyRedfishCsv(plan, secret);
    objects.push(secretObject(kepler.namespace, REDFISH_SECRET, { [REDFISH_KEY[kepler.flavour]]: content }));
    postRender = postRenderFiles(inventory);
  }
  return {
    plan,
    objects,
    postRender,
    release: {
      release: KEPLER_RELEASE,
      namespace: kepler.namespace,
      chart: keplerChart(inventory),
      version: kepler.chartVersion,
      values: keplerValues(inventory, plan),
      postRenderer: postRender ? POST_RENDER_SCRIPT : undefined,
      // A new script or patch changes the manifests without changing the values: it must upgrade too.
      extraInputs: postRender ? `${postRender.script}\n---\n${postRender.patch}` : undefined,
      timeoutSec: KEPLER_TIMEOUT_SEC,
    },
  };
}

export const role: Role = {
  name: "kepler",
  description: "Kepler energy exporter by Helm (current or legacy line), Redfish credentials from the vault",
  tasks: (ctx) => {
    const { kepler } = ctx.inventory.cluster;
    const { plan, objects, postRender, release } = keplerArtifacts(ctx.inventory, ctx.secret);
    const tasks: Task[] = [];
    tasks.push(
      task({
        name: `namespace ${kepler.namespace}${plan.enabled ? " and Redfish credentials" : ""}`,
        module: kubeApply,
        // Kepler reads its Redfish file only at start: new credentials need new pods.
        params: {
          objects,
          restartOnSecretUpdate: { kind: "daemonset", namespace: kepler.namespace, name: KEPLER_DAEMONSET },
        },
      }),
    );
    if (postRender) {
      tasks.push(
        task({
          name: POST_RENDER_DIR,
          module: file,
          params: { path: POST_RENDER_DIR, state: "directory", mode: "0755", owner: "root", group: "root" },
        }),
        task({
          name: POST_RENDER_SCRIPT,
          module: copy,
          params: {
            path: POST_RENDER_SCRIPT,
            content: postRender.script,
            mode: "0755",
            owner: "root",
            group: "root",
          },
        }),
        task({
          name: POST_RENDER_PATCH,
          module: copy,
          params: {
            path: POST_RENDER_PATCH,
            content: postRender.patch,
            mode: "0644",
            owner: "root",
            group: "root",
          },
        }),
      );
    }
    const redfishNote = plan.enabled
      ? `Redfish on ${plan.nodes.length} node${plan.nodes.length === 1 ? "" : "s"}`
      : plan.why
        ? `Redfish off: ${plan.why}`
        : "no BMC in the inventory";
    tasks.push(
      task({
        name: `Kepler ${kepler.chartVersion} (${kepler.flavour} line, ${redfishNote})`,
        module: helmRelease,
        params: release,
      }),
    );
    return { tasks };
  },
};

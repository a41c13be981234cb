/**
 * teardown-helm (control node): the Helm releases `up` installs, uninstalled in reverse order (Kepler, then
 * kube-prometheus-stack), each waited for so Prometheus writes its data before K3s goes; skipped where K3s
 * is not installed (no cluster, no release). Then the files powerstack kept for Helm on the node (the Kepler
 * post-renderer, no credential in it).
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import type { Inventory } from "../../src/inventory/types.js";
import { k3sInstalled, WITHOUT_K3S } from "../../src/modules/cluster-read.js";
import { emptyDirAbsent } from "../../src/modules/empty-dir-absent.js";
import { file } from "../../src/modules/file.js";
import { helmReleaseAbsent } from "../../src/modules/helm-release-absent.js";
import { KEPLER_RELEASE, POST_RENDER_DIR } from "../kepler/release.js";
import { MONITORING_RELEASE } from "../monitoring/release.js";

/** Where powerstack keeps files for Helm on the control node (the Kepler post-renderer's, today). */
const HELM_FILES = POST_RENDER_DIR.replace(/\/[^/]+$/, "");

/** In uninstall order: Kepler's ServiceMonitor points at Prometheus, so it goes first (reverse of up). */
export function helmReleases(inventory: Inventory): Array<{ release: string; namespace: string }> {
  return [
    { release: KEPLER_RELEASE, namespace: inventory.cluster.kepler.namespace },
    { release: MONITORING_RELEASE, namespace: inventory.cluster.monitoring.namespace },
  ];
}

export const role: Role = {
  name: "teardown-helm",
  description: "uninstall the Helm releases (Kepler, kube-prometheus-stack); skipped without K3s",
  async tasks({ inventory, read }) {
    const installed = await read(k3sInstalled.of());
    return {
      tasks: [
        ...helmReleases(inventory).map((r) =>
          task({
            name: `Helm release ${r.release} (namespace ${r.namespace})${installed ? "" : WITHOUT_K3S}`,
            module: helmReleaseAbsent,
            params: r,
            when: () => installed,
          }),
        ),
        task({
          name: POST_RENDER_DIR,
          module: file,
          params: { path: POST_RENDER_DIR, state: "absent" as const },
        }),
        task({ name: HELM_FILES, module: emptyDirAbsent, params: { path: HELM_FILES } }),
      ],
    };
  },
};

/**
 * kubeconfig (control node -> operator's machine): merged as context `powerstack`, server URL on the
 * control node's external address.
 */
import { task } from "../../src/engine/types.js";
import { kubeconfigPath } from "../../src/cluster/kubeconfig.js";
import type { Role } from "../../src/engine/role.js";
import { kubeconfig } from "../../src/modules/kubeconfig.js";

export const KUBE_CONTEXT = "powerstack";

export const role: Role = {
  name: "kubeconfig",
  description: "the cluster's kubeconfig merged into ~/.kube/config (or $KUBECONFIG) as context `powerstack`",
  tasks: ({ control }) => {
    const localPath = kubeconfigPath();
    return {
      tasks: [
        task({
          name: `context ${KUBE_CONTEXT} in ${localPath}`,
          module: kubeconfig,
          params: {
            localPath,
            context: KUBE_CONTEXT,
            server: `https://${control.externalIp}:6443`,
          },
        }),
      ],
    };
  },
};

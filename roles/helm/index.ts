/** helm (control node): the Helm CLI at the pinned version, online or from the artifacts directory. */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import { helmArch, helmBinary } from "../../src/modules/helm-binary.js";

export const role: Role = {
  name: "helm",
  description: "Helm CLI on the control node at the pinned version",
  tasks: ({ inventory, facts }) => {
    const { k3s, helm } = inventory.cluster;
    return {
      tasks: [
        task({
          name: `Helm ${helm.version}`,
          module: helmBinary,
          params: {
            version: helm.version,
            arch: helmArch(facts.arch),
            artifactsDir: k3s.install === "airgap" ? k3s.artifactsDir : undefined,
          },
        }),
      ],
    };
  },
};

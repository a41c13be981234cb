/**
 * Where K3s comes from on every node: the internet (get.k3s.io) or the air-gap artifacts directory, whose
 * files are picked for THIS node's architecture (facts.arch is `uname -m`: amd64 and arm64 nodes can mix).
 * Missing files are an error here, before any task of the node runs.
 */
import type { RoleContext } from "../../src/engine/role.js";
import { airgapArtifacts, k3sArch, type K3sInstallSource } from "../../src/modules/k3s.js";

export function installSource(ctx: RoleContext): K3sInstallSource {
  const { install, artifactsDir, version } = ctx.inventory.cluster.k3s;
  if (install !== "airgap") return { mode: "online" };
  return {
    mode: "airgap",
    dir: artifactsDir!,
    artifacts: airgapArtifacts(artifactsDir!, k3sArch(ctx.facts.arch), version),
  };
}

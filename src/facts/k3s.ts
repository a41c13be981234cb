/**
 * Where K3s and Helm live on a node and how powerstack calls them: one place for the paths, unit names
 * and command lines that modules, teardown and `verify` share, plus the facts read from them.
 */
import { defineFact, requireSuccess } from "../engine/fact.js";
import type { NodeRole } from "../inventory/types.js";

export const K3S_BIN = "/usr/local/bin/k3s";
export const K3S_CONFIG = "/etc/rancher/k3s/config.yaml";
/** The admin kubeconfig K3s writes on the server (what kubectl and Helm on the node use). */
export const K3S_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml";
/** K3s imports every image tarball in this directory when the agent starts (docs.k3s.io, air-gap install). */
export const K3S_IMAGES_DIR = "/var/lib/rancher/k3s/agent/images";
/** The uninstall scripts install.sh writes. */
export const K3S_SERVER_UNINSTALL = "/usr/local/bin/k3s-uninstall.sh";
export const K3S_AGENT_UNINSTALL = "/usr/local/bin/k3s-agent-uninstall.sh";

export type K3sKind = "server" | "agent";
/** The systemd unit install.sh creates for a server or an agent. */
export const k3sUnit = (kind: K3sKind) => (kind === "server" ? "k3s" : "k3s-agent");
export const k3sKindOf = (role: NodeRole): K3sKind => (role === "control" ? "server" : "agent");

/** kubectl as K3s ships it: it reads the server's admin kubeconfig. */
export const KUBECTL = `${K3S_BIN} kubectl`;
export const HELM_BIN = "/usr/local/bin/helm";
/** Helm pointed at the same kubeconfig. */
export const HELM = `KUBECONFIG=${K3S_KUBECONFIG} ${HELM_BIN}`;

export function parseK3sVersion(line: string): string | undefined {
  return /k3s version (v\S+)/.exec(line)?.[1];
}

/** The installed K3s binary's version; undefined when there is none. */
export const k3sVersion = defineFact<string | undefined>({
  name: "k3s-version",
  command: () => `if [ -x ${K3S_BIN} ]; then ${K3S_BIN} --version | head -n1; else echo '@@absent'; fi`,
  parse(out) {
    requireSuccess("k3s-version", `${K3S_BIN} --version`, out);
    return parseK3sVersion(out.stdout);
  },
});

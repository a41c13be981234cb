/**
 * The operator's kubeconfig: read the server's /etc/rancher/k3s/k3s.yaml (probe), merge it locally
 * (plan, pure), write the local file atomically with mode 0600 (apply). The file never holds a diff in
 * output: it contains client keys.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { mergedKubeconfigText } from "../cluster/kubeconfig.js";
import type { ShellModule } from "../engine/types.js";

export const K3S_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml";

export interface KubeconfigParams {
  localPath: string;
  /** The local file's content when the task was built (undefined: no file). */
  localContent?: string;
  context: string;
  server: string;
}

export const kubeconfig: ShellModule<KubeconfigParams, string | undefined> = {
  name: "kubeconfig",
  probe: () => ({
    command: `base64 -w0 ${K3S_KUBECONFIG} 2>/dev/null`,
    parse: (out) => (out.trim() ? Buffer.from(out.trim(), "base64").toString("utf8") : undefined),
  }),
  plan(remote, p) {
    if (remote === undefined)
      return [
        {
          summary: `merge K3s kubeconfig into ${p.localPath} as context ${p.context} (once K3s is installed)`,
        },
      ];
    const text = mergedKubeconfigText(p.localContent, remote, {
      name: p.context,
      server: p.server,
      source: K3S_KUBECONFIG,
    });
    return text === undefined
      ? []
      : [
          {
            summary: `${p.localContent ? "update" : "create"} context ${p.context} in ${p.localPath} (server ${p.server})`,
          },
        ];
  },
  async apply(_ctx, p, _changes, remote) {
    if (remote === undefined)
      throw new Error(`${K3S_KUBECONFIG} is missing on the control node: K3s is not installed`);
    const text = mergedKubeconfigText(p.localContent, remote, {
      name: p.context,
      server: p.server,
      source: K3S_KUBECONFIG,
    });
    if (text === undefined) return;
    mkdirSync(dirname(p.localPath), { recursive: true, mode: 0o700 });
    const tmp = `${p.localPath}.powerstack-${process.pid}`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, p.localPath);
  },
};

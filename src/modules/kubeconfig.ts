/**
 * The operator's kubeconfig: the server's /etc/rancher/k3s/k3s.yaml and the local file are both facts
 * (remote and local); plan merges them (pure); apply writes the merged file with the same atomic writer
 * as the vault (temp file, fsync, rename, mode 0600). The file never holds a diff in output: it contains
 * client keys.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { mergedKubeconfigText } from "../cluster/kubeconfig.js";
import { defineFact } from "../engine/fact.js";
import { PowerstackError } from "../errors.js";
import type { Module } from "../engine/types.js";
import { file, type RemoteFile } from "../facts/file.js";
import { K3S_KUBECONFIG } from "../facts/k3s.js";
import { writeFileAtomic } from "../vault/atomic-write.js";

export { K3S_KUBECONFIG };

export interface KubeconfigParams {
  localPath: string;
  context: string;
  server: string;
}

/** A file on the operator's machine; undefined when there is none. */
export const localFile = defineFact<string | undefined, string>({
  name: "local-file",
  key: (path) => path,
  local: (path) =>
    readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    }),
});

interface KubeconfigSeen {
  remote: RemoteFile;
  local: string | undefined;
}

export type KubeconfigAction =
  | { kind: "write"; text: string; existed: boolean }
  /** K3s is not installed yet (--check before the K3s play ran): the merge happens once it is. */
  | { kind: "merge-when-installed" };

const merged = (seen: KubeconfigSeen, p: KubeconfigParams, remote: string) =>
  mergedKubeconfigText(seen.local, remote, { name: p.context, server: p.server, source: K3S_KUBECONFIG });

export const kubeconfig: Module<KubeconfigParams, KubeconfigSeen, KubeconfigAction> = {
  name: "kubeconfig",
  reads: (p) => ({ remote: file.of(K3S_KUBECONFIG), local: localFile.of(p.localPath) }),
  plan(seen, p) {
    if (seen.remote.content === undefined) return [{ kind: "merge-when-installed" }];
    const text = merged(seen, p, seen.remote.content);
    return text === undefined ? [] : [{ kind: "write", text, existed: seen.local !== undefined }];
  },
  describe: (a, p) =>
    a.kind === "write"
      ? `${a.existed ? "update" : "create"} context ${p.context} in ${p.localPath} (server ${p.server})`
      : `merge K3s kubeconfig into ${p.localPath} as context ${p.context} (once K3s is installed)`,
  touches: (_a, p) => [localFile.of(p.localPath)],
  async apply(_ctx, actions, p) {
    for (const a of actions) {
      if (a.kind === "merge-when-installed")
        throw new PowerstackError(
          `${K3S_KUBECONFIG} is missing on the control node: K3s is not installed`,
          undefined,
          "run the k3s-server role first (`powerstack up` without --only)",
        );
      await mkdir(dirname(p.localPath), { recursive: true, mode: 0o700 });
      await writeFileAtomic(p.localPath, a.text);
    }
  },
};

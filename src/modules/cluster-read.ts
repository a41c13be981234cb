/**
 * Reading the cluster from the control node, for the modules that remove what `up` put into it. kubectl is
 * the one K3s ships (`k3s kubectl`, which reads the server's admin kubeconfig); Helm is the binary the helm
 * role installed, pointed at that same kubeconfig.
 *
 * Every read first asks whether K3s is installed at all: without it there is no cluster and nothing in one
 * to remove, which is an answer ("nothing to do"), not an error. K3s installed but its API not answering is
 * an error: the objects may still be there.
 */
import { defineFact, requireSuccess } from "../engine/fact.js";
import { PowerstackError } from "../errors.js";
import { HELM, K3S_BIN, KUBECTL } from "../facts/k3s.js";

// The same kubectl and Helm command lines the modules that create these objects use.
export { HELM, KUBECTL };

/** What a read of the cluster saw: no K3s (or no tool), or the read's exit status and output. */
export type ClusterRead =
  { installed: false; missing: string } | { installed: true; code: number; output: string };

/**
 * A probe snippet: `k3s=absent` when a needed binary is missing, else the read's exit status and its
 * output with stderr (the error text is what the user needs when the API does not answer).
 */
export function clusterReadCommand(read: string, needs: string[] = [K3S_BIN]): string {
  const checks = needs.map((bin) => `[ ! -x ${bin} ]; then echo "absent=${bin}"`).join("; elif ");
  return `if ${checks}; else out=$(${read} 2>&1); echo "rc=$?"; printf '%s\\n' "$out"; fi`;
}

export function parseClusterRead(stdout: string): ClusterRead {
  const [first = "", ...rest] = stdout.replace(/^\n/, "").split("\n");
  const absent = /^absent=(.*)$/.exec(first.trim());
  if (absent) return { installed: false, missing: absent[1]! };
  const rc = /^rc=(\d+)$/.exec(first.trim());
  // No marker at all: the probe itself did not run as written; report it as a failed read.
  if (!rc) return { installed: true, code: -1, output: stdout };
  return { installed: true, code: Number(rc[1]), output: rest.join("\n").trim() };
}

/**
 * A read of the cluster as a fact: `read` is the kubectl or helm command line, `needs` the binaries
 * without which there is no cluster (default: K3s). The read's own failure is kept in the value (exit
 * status and output), for the module to refuse with clusterUnreadable: it is an answer about the cluster.
 */
export const clusterRead = defineFact<ClusterRead, { read: string; needs?: string[] }>({
  name: "cluster-read",
  command: ({ read, needs }) => clusterReadCommand(read, needs),
  parse: (out) => parseClusterRead(out.stdout),
});

/** The refusal when K3s is installed but a read of the cluster failed (API down, kubeconfig unreadable). */
export function clusterUnreadable(what: string, read: { code: number; output: string }): PowerstackError {
  const tail = read.output.split("\n").slice(-3).join("\n    ");
  return new PowerstackError(
    `K3s is installed but ${what} failed (exit ${read.code})${tail ? `:\n    ${tail}` : ""}`,
    undefined,
    "start K3s (`systemctl start k3s` on the control node) and rerun; if the cluster cannot be saved, " +
      "rerun with `--skip teardown-helm,teardown-cluster-storage`: the K3s uninstall removes every object " +
      "with it, but Prometheus is then killed without writing its last data",
  );
}

/** Added to a cluster task's name when it is skipped for want of K3s: the recap then says why. */
export const WITHOUT_K3S = " (skipped: K3s is not installed)";

/** Whether K3s is installed on this node: the teardown roles read it once to skip their cluster tasks cleanly. */
export const k3sInstalled = defineFact<boolean>({
  name: "k3s-installed",
  command: () => `if [ -x ${K3S_BIN} ]; then echo yes; else echo no; fi`,
  parse(out) {
    requireSuccess("k3s-installed", `whether ${K3S_BIN} exists`, out);
    return out.stdout.trim() === "yes";
  },
});

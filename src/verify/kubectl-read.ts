/**
 * Reads through the Cluster boundary (kubectl on the control node over SSH), each bounded, with the
 * failure of kubectl itself explained: K3s missing, its API server down, or kubectl's own message.
 */
import type { Cluster } from "../cluster/cluster.js";
import { PowerstackError } from "../errors.js";
import { parseList } from "../cluster/kube-objects.js";

export const KUBECTL_TIMEOUT_SEC = 30;

export async function kubectlList<T>(cluster: Cluster, args: string[], control: string): Promise<T[]> {
  const command = `kubectl ${args.join(" ")}`;
  const r = await cluster.kubectl(args, { timeoutSec: KUBECTL_TIMEOUT_SEC });
  if (r.code !== 0) throw kubectlFailure(command, r.code, r.stderr || r.stdout, control);
  return parseList<T>(r.stdout, command);
}

export function kubectlFailure(
  command: string,
  code: number,
  output: string,
  control: string,
): PowerstackError {
  const tail = output.trim().split("\n").slice(-2).join(" / ");
  if (code === 127 || /k3s: (command )?not found/.test(output)) {
    return new PowerstackError(
      `\`${command}\` on ${control}: K3s is not installed there (${tail || "k3s: not found"})`,
      undefined,
      "run `powerstack up` (installs the K3s server on the control node)",
    );
  }
  if (/connection to the server .* was refused|connect: connection refused|ServiceUnavailable/.test(output)) {
    return new PowerstackError(
      `\`${command}\` on ${control}: the K3s API server does not answer (${tail})`,
      undefined,
      `check the server on ${control}: \`systemctl status k3s\` and \`journalctl -u k3s -n 50\``,
    );
  }
  if (code === 124) {
    return new PowerstackError(
      `\`${command}\` on ${control} timed out after ${KUBECTL_TIMEOUT_SEC} s`,
      undefined,
      `the K3s API server on ${control} is overloaded or hung: \`journalctl -u k3s -n 50\``,
    );
  }
  return new PowerstackError(
    `\`${command}\` on ${control} failed (exit ${code}): ${tail || "no output"}`,
    undefined,
    `run \`k3s ${command}\` on ${control} to see the whole message`,
  );
}

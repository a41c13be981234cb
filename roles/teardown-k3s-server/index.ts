/**
 * teardown-k3s-server (control node): K3s' own server uninstall script, only where it is installed. It
 * removes the datastore (every cluster object), /etc/rancher/k3s (the config with the token) and the
 * binaries. The token stays in the vault, so the next `up` installs a server the same agents can join.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import { command } from "../../src/modules/command.js";
import { emptyDirAbsent } from "../../src/modules/empty-dir-absent.js";
import { file } from "../../src/modules/file.js";
import { K3S_INSTALL_SCRIPT } from "../../src/modules/k3s.js";

/** powerstack's own directory on a node: removed once empty (the K3s role is the last to use it). */
const POWERSTACK_DIR = K3S_INSTALL_SCRIPT.replace(/\/[^/]+$/, "");

export const K3S_SERVER_UNINSTALL = "/usr/local/bin/k3s-uninstall.sh";

export const role: Role = {
  name: "teardown-k3s-server",
  description: "K3s server removed by its own uninstall script, where installed",
  tasks: () => ({
    tasks: [
      task({
        name: "K3s server",
        module: command,
        params: {
          cmd: K3S_SERVER_UNINSTALL,
          removes: K3S_SERVER_UNINSTALL,
          timeoutSec: 600,
          summary: `uninstall the K3s server (${K3S_SERVER_UNINSTALL})`,
        },
      }),
      // Air-gapped installs keep K3s' install script here (src/modules/k3s.ts); the uninstall does not know it.
      task({ name: K3S_INSTALL_SCRIPT, module: file, params: { path: K3S_INSTALL_SCRIPT, state: "absent" } }),
      task({ name: POWERSTACK_DIR, module: emptyDirAbsent, params: { path: POWERSTACK_DIR } }),
    ],
  }),
};

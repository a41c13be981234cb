/**
 * teardown-kernel (all nodes): the sysctl drop-in `up` wrote is removed, so the next boot has the kernel's
 * (or the distribution's) value again.
 *
 * The live value is left as it is until that reboot, as Ansible's `sysctl: state=absent` does: powerstack
 * never recorded the value before `up`, and guessing one (the kernel's 2, Debian's 3, Ubuntu's 4) could
 * be wrong for the node. To restrict perf at once: `sysctl -w kernel.perf_event_paranoid=<n>`.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import { file } from "../../src/modules/file.js";
import { SYSCTL_DROP_IN } from "../kernel/index.js";

export const role: Role = {
  name: "teardown-kernel",
  description: "sysctl drop-in removed (the live value stays until the next reboot)",
  tasks: () => ({
    tasks: [
      task({
        name: `sysctl drop-in ${SYSCTL_DROP_IN}`,
        module: file,
        params: { path: SYSCTL_DROP_IN, state: "absent" },
      }),
    ],
  }),
};

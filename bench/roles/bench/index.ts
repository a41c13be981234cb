/**
 * The benchmark play (issue: "a package present, a file with content, a sysctl drop-in, a line in fstab,
 * a service enabled"), as a powerstack role loaded by path. bench/ansible/play.yml is the same play for
 * ansible-playbook; each tool writes its own files (ps-/an- prefixes) so the two never undo each other.
 * Several benchmark "hosts" can share one lab node (extra sshd ports), so paths carry the host name.
 */
import { task } from "../../../src/engine/types.js";
import type { Role } from "../../../src/engine/role.js";
import { apt } from "../../../src/modules/apt.js";
import { copy } from "../../../src/modules/copy.js";
import { lineInFile } from "../../../src/modules/line-in-file.js";
import { service } from "../../../src/modules/service.js";
import { sysctl } from "../../../src/modules/sysctl.js";

export const role: Role = {
  name: "bench",
  description: "the five-task idempotent benchmark play",
  tasks: ({ node }) => ({
    tasks: [
      task({ name: "package present", module: apt, params: { names: ["bc"] } }),
      task({
        name: "file with content",
        module: copy,
        params: {
          path: `/etc/bench-ps-${node.name}.conf`,
          content: `host = ${node.name}\nrole = benchmark\n`,
          mode: "0644",
        },
      }),
      task({
        name: "sysctl drop-in",
        module: sysctl,
        params: {
          name: "net.ipv4.tcp_keepalive_time",
          value: "600",
          file: `/etc/sysctl.d/90-bench-ps-${node.name}.conf`,
        },
      }),
      // An fstab-format file of its own per benchmark host: five hosts share a lab node at 50 hosts, and
      // concurrent whole-file edits of one /etc/fstab would race (in either tool).
      task({
        name: "line in fstab",
        module: lineInFile,
        params: {
          path: `/etc/bench-fstab-ps-${node.name}`,
          mode: "0644",
          line: `tmpfs /mnt/bench-ps-${node.name} tmpfs defaults,noauto 0 0`,
          match: new RegExp(`\\s/mnt/bench-ps-${node.name}\\s`),
        },
      }),
      task({ name: "service enabled", module: service, params: { name: "ssh.service", enabled: true } }),
    ],
  }),
};

/**
 * The first-converge benchmark's own tasks (bench/first-converge.ts), beside the real host-layer roles
 * kernel and storage: a package installed, a file written (a systemd unit) and its service enabled and
 * started. bench/ansible/converge.yml does the same work for ansible-playbook.
 */
import { task } from "../../../src/engine/types.js";
import type { Role } from "../../../src/engine/role.js";
import { apt } from "../../../src/modules/apt.js";
import { copy } from "../../../src/modules/copy.js";
import { service } from "../../../src/modules/service.js";

export const UNIT = "bench-converge.service";
export const UNIT_TEXT = [
  "[Unit]",
  "Description=powerstack first-converge benchmark service",
  "",
  "[Service]",
  "ExecStart=/bin/sleep infinity",
  "",
  "[Install]",
  "WantedBy=multi-user.target",
  "",
].join("\n");

export const role: Role = {
  name: "converge",
  description: "a package, a file and a service (first-converge benchmark)",
  tasks: () => ({
    tasks: [
      task({ name: "package bc", module: apt, params: { names: ["bc"] } }),
      task({
        name: `unit file ${UNIT}`,
        module: copy,
        params: { path: `/etc/systemd/system/${UNIT}`, content: UNIT_TEXT, mode: "0644" },
      }),
      task({
        name: `${UNIT} enabled and started`,
        module: service,
        params: { name: UNIT, enabled: true, state: "started" as const },
      }),
    ],
  }),
};

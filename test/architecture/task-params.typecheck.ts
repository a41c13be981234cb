/**
 * Compiled, never run: contract.test.ts type-checks this file with the project's compiler options.
 * Each `@ts-expect-error` marks a task the compiler must reject (issue 17 item 2: a task's params are
 * tied to its module's parameter type). If one of them stops being an error, the directive itself
 * becomes one and the test fails; the test also compiles a copy without the directives and checks that
 * each marked line fails for the reason given beside it.
 */
import { task, type Task } from "../../src/engine/types.js";
import { apt } from "../../src/modules/apt.js";
import { mount } from "../../src/modules/mount.js";

export const rejected: Task[] = [
  // A misspelt key (`nmes` for `names`).
  // @ts-expect-error nmes
  task({ name: "x", module: apt, params: { nmes: ["a"] } }),
  // A value of the wrong type (`path` is a string).
  task({
    name: "x",
    module: mount,
    params: {
      // @ts-expect-error number-to-string
      path: 42,
      source: { device: "/dev/vdb" },
      fstype: "btrfs",
      options: "defaults",
      state: "mounted",
    },
  }),
  // A key of another module's params (mount's `fstype` on apt).
  // @ts-expect-error fstype
  task({ name: "x", module: apt, params: { names: ["a"], fstype: "btrfs" } }),
];

export const accepted: Task[] = [
  task({ name: "packages", module: apt, params: { names: ["nfs-common"] } }),
  task({
    name: "data mount",
    module: mount,
    params: {
      path: "/mnt/data",
      source: { device: "/dev/vdb" },
      fstype: "btrfs",
      options: "defaults,noatime",
      state: "mounted",
    },
  }),
];

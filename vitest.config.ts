import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { testLogDir } from "./test/support/log-dir.js";

// The unit project's temp files, run logs included, all live under one root per run (named after this
// process, created and removed by test/support/temp-root.ts): a run leaves no temp directory behind.
const UNIT_TMP = join(tmpdir(), `powerstack-test-run-${process.pid}`);

// Every project's tests may connect to loopback (and the lab and vm projects to their lab's network) only:
// anything else fails the test, naming the address and the test (issue 16 item 15).
const NET_GUARD = "test/support/net-guard.ts";

// Two projects: `unit` needs nothing but Node; `lab` needs root and the tier-1 container lab, which its
// globalSetup builds once (cached base image) for every lab test file and tears down afterwards.
export default defineConfig({
  test: {
    // Run logs of CLI calls made in tests go to a temp dir of this run, never into the checkout; the lab
    // and vm projects remove it at the end (test/support/log-dir.ts), the unit project uses its own root.
    env: { POWERSTACK_LOG_DIR: testLogDir() },
    testTimeout: 60_000,
    hookTimeout: 600_000,
    projects: [
      {
        test: {
          name: "unit",
          testTimeout: 60_000,
          env: {
            TMPDIR: UNIT_TMP,
            POWERSTACK_LOG_DIR: join(UNIT_TMP, "logs"),
            // A cache meant to outlive the run (the unzipped Helm and kubectl): outside the root.
            POWERSTACK_TEST_CACHE: join(tmpdir(), "powerstack-cache"),
          },
          globalSetup: ["test/support/temp-root.ts"],
          setupFiles: [NET_GUARD],
          // Projects run one after another (unit, then lab, then vm): the VMs' emulated CPUs would
          // otherwise compete with timing-sensitive unit tests on a 2-core machine.
          sequence: { groupOrder: 0 },
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.lab.test.ts", "test/**/*.vm.test.ts", "node_modules/**"],
        },
      },
      {
        test: {
          name: "lab",
          sequence: { groupOrder: 1 },
          include: ["test/**/*.lab.test.ts"],
          globalSetup: ["test/lab/global-setup.ts", "test/support/log-dir.ts"],
          setupFiles: [NET_GUARD],
          // One lab, shared: files run one after another so they never race on the same nodes.
          fileParallelism: false,
          testTimeout: 300_000,
        },
      },
      {
        test: {
          name: "vm",
          sequence: { groupOrder: 2 },
          include: ["test/**/*.vm.test.ts"],
          // Tier 2: two QEMU VMs with the Debian kernel (LAB-VM.md), booted once for all vm test files.
          globalSetup: ["test/lab/vm/global-setup.ts", "test/support/log-dir.ts"],
          setupFiles: [NET_GUARD],
          fileParallelism: false,
          testTimeout: 900_000,
        },
      },
    ],
  },
});

/**
 * What verify prints and returns, from given results: the table (aligned, fixes below, a summary line),
 * the JSON objects (one per check, then the summary) and the exit code (0, 1, or 3 when anything was
 * unreachable, which wins over 1).
 */
import { describe, expect, it } from "vitest";
import type { CheckResult } from "../../src/verify/check.js";
import { exitCodeFor, verifyJson, verifyText } from "../../src/verify/report.js";

const PASSING: CheckResult[] = [
  {
    name: "ssh.connect",
    scope: "ctl",
    status: "pass",
    detail: "connected to root@198.51.100.11:22",
    ms: 120,
  },
  { name: "kernel.perf_event_paranoid", scope: "ctl", status: "pass", detail: "-1 (inventory: -1)", ms: 300 },
  {
    name: "nfs.round-trip",
    scope: "ctl",
    status: "skip",
    detail: "no workers in the inventory: nothing mounts the share",
  },
];
const FAILING: CheckResult = {
  name: "nfs.export",
  scope: "ctl",
  status: "fail",
  detail: "/mnt/data is not exported (the export table holds nothing)",
  fix: "run `powerstack up --only nfs-server`",
  ms: 300,
};
const UNREACHABLE: CheckResult = {
  name: "ssh.connect",
  scope: "w1",
  status: "fail",
  detail: "w1: connection refused by root@198.51.100.12:22",
  fix: "is sshd running and is the port right (ssh.port / ssh_port)?",
  unreachable: true,
  ms: 5,
};

describe("verify's report", () => {
  it("exit code: 0 when nothing failed (skips allowed), 1 on a failure, 3 when something was unreachable", () => {
    expect(exitCodeFor(PASSING)).toBe(0);
    expect(exitCodeFor([...PASSING, FAILING])).toBe(1);
    expect(exitCodeFor([...PASSING, FAILING, UNREACHABLE])).toBe(3);
    expect(exitCodeFor([UNREACHABLE])).toBe(3);
  });

  it("prints an aligned table, the fixes of the failures, and a summary", () => {
    expect(verifyText([...PASSING, FAILING, UNREACHABLE])).toBe(
      [
        "check                       scope  result       detail",
        `${"-".repeat(26)}  -----  -----------  ${"-".repeat(58)}`,
        "ssh.connect                 ctl    ok           connected to root@198.51.100.11:22",
        "kernel.perf_event_paranoid  ctl    ok           -1 (inventory: -1)",
        "nfs.round-trip              ctl    skip         no workers in the inventory: nothing mounts the share",
        "nfs.export                  ctl    FAIL         /mnt/data is not exported (the export table holds nothing)",
        "ssh.connect                 w1     UNREACHABLE  w1: connection refused by root@198.51.100.12:22",
        "",
        "To fix:",
        "  nfs.export (ctl): run `powerstack up --only nfs-server`",
        "  ssh.connect (w1): is sshd running and is the port right (ssh.port / ssh_port)?",
        "",
        "2 passed, 2 failed (1 unreachable), 1 skipped, of 5 checks",
      ].join("\n"),
    );
    expect(verifyText(PASSING)).not.toContain("To fix:");
  });

  it("--json: one object per check (fix only on failures), then the summary with the exit code", () => {
    expect(verifyJson([PASSING[0]!, FAILING, UNREACHABLE])).toEqual([
      {
        type: "check",
        name: "ssh.connect",
        scope: "ctl",
        status: "pass",
        detail: "connected to root@198.51.100.11:22",
        ms: 120,
      },
      {
        type: "check",
        name: "nfs.export",
        scope: "ctl",
        status: "fail",
        detail: "/mnt/data is not exported (the export table holds nothing)",
        fix: "run `powerstack up --only nfs-server`",
        ms: 300,
      },
      {
        type: "check",
        name: "ssh.connect",
        scope: "w1",
        status: "fail",
        detail: "w1: connection refused by root@198.51.100.12:22",
        fix: "is sshd running and is the port right (ssh.port / ssh_port)?",
        unreachable: true,
        ms: 5,
      },
      { type: "summary", total: 3, passed: 1, failed: 2, skipped: 0, unreachable: 1, exitCode: 3 },
    ]);
  });
});

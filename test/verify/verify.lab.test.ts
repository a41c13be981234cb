/**
 * `powerstack verify` on the 3-node container lab after `up --only kernel,storage`, through the real CLI:
 * the node checks those roles answer for pass on real systemd nodes with a real BTRFS disk, and every
 * other check fails or is skipped with its reason (no NFS server, no K3s, no Prometheus or Grafana here;
 * the container tier has no kernel NFS at all). Exit code 3: Prometheus and Grafana cannot be reached.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { ensureLabVault, labHost, runCli, LAB_SECRETS } from "../support/lab.js";

const BLANK_DISK =
  "umount /mnt/data 2>/dev/null; sed -i '\\# /mnt/data #d' /etc/fstab; wipefs -a /dev/vdb >/dev/null 2>&1; dd if=/dev/zero of=/dev/vdb bs=1M count=4 status=none";

interface Row {
  type: string;
  name: string;
  scope: string;
  status: string;
  detail: string;
  fix?: string;
  unreachable?: boolean;
}

let rows: Row[] = [];
let code = -1;
let output = "";

beforeAll(async () => {
  await ensureLabVault();
  const ctl = await labHost("ctl");
  try {
    await ctl.exec(BLANK_DISK);
  } finally {
    await ctl.close();
  }
  const up = await runCli(["--json", "up", "--only", "kernel,storage"]);
  expect(up.code, up.stderr).toBe(0);
  const r = await runCli(["--json", "verify"]);
  code = r.code;
  output = r.stdout + r.stderr;
  rows = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Row)
    .filter((o) => o.type === "check");
}, 600_000); // apt installs btrfs-progs on the nodes

const row = (name: string, scope: string) => rows.find((r) => r.name === name && r.scope === scope)!;

describe("verify on the container lab after up --only kernel,storage", () => {
  test("the kernel and storage checks pass on real nodes", () => {
    for (const node of ["ctl", "w1", "w2"]) {
      expect(row("ssh.connect", node).status).toBe("pass");
      expect(row("kernel.perf_event_paranoid", node)).toMatchObject({
        status: "pass",
        detail: "-1 (inventory: -1)",
      });
    }
    expect(row("storage.data-mount", "ctl").status).toBe("pass");
    expect(row("storage.data-mount", "ctl").detail).toMatch(
      /^BTRFS \/dev\/vdb \(UUID [0-9a-f-]{36}\) at \/mnt\/data; fstab by UUID$/,
    );
  });

  test("NFS, K3s and the monitoring stack fail or are skipped, each with its reason", () => {
    expect(row("nfs.export", "ctl")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(
        /^cannot read the NFS export table \(exportfs -v\): sh: \d+: exportfs: not found$/,
      ),
    });
    expect(row("nfs.client-mount", "w1")).toMatchObject({
      status: "fail",
      detail: "/mnt/data is not mounted, and /etc/fstab has no entry for it",
    });
    expect(row("k3s.service", "ctl")).toMatchObject({
      status: "fail",
      detail: "k3s.service is not installed",
    });
    expect(row("k3s.service", "w2")).toMatchObject({
      status: "fail",
      detail: "k3s-agent.service is not installed",
    });
    expect(row("nfs.round-trip", "ctl").status).toBe("skip");
    expect(row("k8s.api", "ctl").detail).toContain("K3s is not installed there");
    expect(
      rows.filter((r) => r.name.startsWith("k8s.") && r.name !== "k8s.api").every((r) => r.status === "skip"),
    ).toBe(true);
    for (const name of ["kepler.targets-up", "kepler.energy-nonzero", "grafana.login"]) {
      expect(row(name, name.startsWith("grafana") ? "grafana" : "prometheus")).toMatchObject({
        status: "fail",
        unreachable: true,
      });
    }
    expect(code).toBe(3);
  });

  test("no secret in the output", () => {
    for (const secret of Object.values(LAB_SECRETS)) expect(output).not.toContain(secret);
  });
});

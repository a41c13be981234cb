import { describe, expect, test } from "vitest";
import { loadInventory, parseInventory } from "../../src/inventory/load.js";
import {
  INVENTORY_FILE as FILE,
  MINIMAL_INVENTORY as base,
  rejection,
} from "../support/minimal-inventory.js";

const problems = (text: string) => rejection(text).problems;

/** Assert exactly one problem, at file:line:col, naming the key, with a message and a fix. */
function expectOne(
  text: string,
  want: { line: number; col: number; key: string; message: RegExp; fix: RegExp },
) {
  const found = problems(text);
  expect(found).toHaveLength(1);
  const p = found[0]!;
  expect({ file: p.file, line: p.line, col: p.col, key: p.key }).toEqual({
    file: FILE,
    line: want.line,
    col: want.col,
    key: want.key,
  });
  expect(p.message).toMatch(want.message);
  expect(p.fix).toMatch(want.fix);
}

describe("inventory: valid files", () => {
  test("the minimal inventory loads with defaults filled in", () => {
    const inv = parseInventory(base, FILE);
    expect(inv.nodes.map((n) => [n.name, n.role, n.sshAddress, n.externalIp])).toEqual([
      ["ctl", "control", "198.51.100.10", "198.51.100.10"],
      ["w1", "worker", "198.51.100.11", "198.51.100.11"],
    ]);
    expect(inv.cluster.dataPath).toBe("/mnt/data");
    expect(inv.cluster.nodePorts).toEqual({ prometheus: 30090, grafana: 30030, alertmanager: 30093 });
    expect(inv.cluster.volumes.grafana).toEqual({ size: "10Gi", claim: "10Gi" });
    expect(inv.cluster.kepler).toMatchObject({ flavour: "current", chartVersion: "0.11.4" });
    expect(inv.vaultFile).toBe("/vault/vault.yaml");
  });

  test("cluster.power (issue 19, item 11): defaults, and the system namespaces follow monitoring's and Kepler's", () => {
    expect(parseInventory(base, FILE).cluster.power).toEqual({
      minWorkersOn: 1,
      idleFor: "30m",
      systemNamespaces: ["kube-system", "monitoring", "kepler"],
    });
    const moved = base.replace("cluster:\n", "cluster:\n  kepler: { namespace: energy }\n");
    expect(parseInventory(moved, FILE).cluster.power.systemNamespaces).toEqual([
      "kube-system",
      "monitoring",
      "energy",
    ]);
    const set = base.replace(
      "cluster:\n",
      "cluster:\n  power: { min_workers_on: 2, idle_for: 1h30m, system_namespaces: [kube-system, ci] }\n",
    );
    expect(parseInventory(set, FILE).cluster.power).toEqual({
      minWorkersOn: 2,
      idleFor: "1h30m",
      systemNamespaces: ["kube-system", "ci"],
    });
  });

  test("the shipped example inventory is valid", () => {
    const inv = loadInventory("inventory/example.yaml");
    expect(inv.nodes).toHaveLength(3);
    expect(inv.nodes.filter((n) => n.bmc)).toHaveLength(3);
    expect(inv.nodes[1]!.flannelIface).toBe("eno2");
  });
});

describe("inventory errors name file, line, column, key and fix", () => {
  test("YAML syntax error", () => {
    const found = problems("cluster:\n  nfs_network: [198.51.100.0/24\nnodes: []\n");
    expect(found[0]).toMatchObject({ file: FILE, key: "(yaml)", fix: /YAML syntax/ });
    expect(found[0]!.line).toBeGreaterThanOrEqual(2);
  });

  test("cluster.power: a negative min_workers_on and an idle_for without a unit are refused", () => {
    expect(
      problems(base.replace("cluster:\n", "cluster:\n  power: { min_workers_on: -1, idle_for: 30 }\n")).map(
        (p) => p.key,
      ),
    ).toEqual(["cluster.power.min_workers_on", "cluster.power.idle_for"]);
  });

  test("NodePort outside 30000-32767", () => {
    expectOne(base.replace("cluster:\n", "cluster:\n  node_ports: { grafana: 8080 }\n"), {
      line: 2,
      col: 26,
      key: "cluster.node_ports.grafana",
      message: /8080 is outside the allowed range 30000-32767/,
      fix: /between 30000 and 32767/,
    });
  });

  test("unknown key with a did-you-mean", () => {
    expectOne(base.replace("    storage_disk:", "    storage_dsk:"), {
      line: 7,
      col: 5,
      key: "nodes[0].storage_dsk",
      message: /unknown key `storage_dsk`/,
      fix: /did you mean `storage_disk`/,
    });
  });

  test("enum value with a did-you-mean", () => {
    expectOne(base.replace("role: worker", "role: wroker"), {
      line: 9,
      col: 11,
      key: "nodes[1].role",
      message: /`wroker` is not one of `control`, `worker`/,
      fix: /did you mean `worker`/,
    });
  });

  test("duplicate node names", () => {
    expectOne(base.replace("name: w1", "name: ctl"), {
      line: 8,
      col: 11,
      key: "nodes[1].name",
      message: /duplicate name `ctl` \(also nodes\[0\]\)/,
      fix: /its own name/,
    });
  });

  test("duplicate internal IPs", () => {
    expectOne(base.replace("198.51.100.11", "198.51.100.10"), {
      line: 10,
      col: 18,
      key: "nodes[1].internal_ip",
      message: /duplicate internal IP `198.51.100.10`/,
      fix: /its own internal IP/,
    });
  });

  test("no control node", () => {
    expectOne(base.replace("role: control", "role: worker").replace("    storage_disk: /dev/vdb\n", ""), {
      line: 4,
      col: 3,
      key: "nodes",
      message: /no node has `role: control`/,
      fix: /exactly one node/,
    });
  });

  test("PVC larger than its PV", () => {
    expectOne(base.replace("cluster:\n", "cluster:\n  volumes:\n    grafana: { size: 1Gi, claim: 2Gi }\n"), {
      line: 3,
      col: 34,
      key: "cluster.volumes.grafana.claim",
      message: /claim 2Gi is larger than its volume 1Gi/,
      fix: /at most 1Gi/,
    });
  });

  test("internal IP outside the NFS network", () => {
    expectOne(base.replace("198.51.100.11", "203.0.113.11"), {
      line: 10,
      col: 18,
      key: "nodes[1].internal_ip",
      message: /203.0.113.11 is outside the NFS network 198.51.100.0\/24/,
      fix: /widen `cluster.nfs_network`/,
    });
  });

  test("malformed IP address", () => {
    expectOne(base.replace("198.51.100.11", "198.51.100.256"), {
      line: 10,
      col: 18,
      key: "nodes[1].internal_ip",
      message: /`198.51.100.256` is not an IPv4 address/,
      fix: /IPv4 address such as/,
    });
  });

  test("missing required key", () => {
    expectOne(base.replace("    internal_ip: 198.51.100.11\n", ""), {
      line: 8,
      col: 5,
      key: "nodes[1].internal_ip",
      message: /required key `nodes\[1\].internal_ip` is missing/,
      fix: /add `internal_ip: <value>`/,
    });
  });

  test("control node without a storage disk", () => {
    expectOne(base.replace("    storage_disk: /dev/vdb\n", ""), {
      line: 4,
      col: 5,
      key: "nodes[0]",
      message: /control node has no `storage_disk`/,
      fix: /by-id/,
    });
  });

  test("wrong type", () => {
    expectOne(base.replace("cluster:\n", "cluster:\n  perf_event_paranoid: high\n"), {
      line: 2,
      col: 24,
      key: "cluster.perf_event_paranoid",
      message: /expected an integer, found string "high"/,
      fix: /write a number/,
    });
  });

  test("BMC without https", () => {
    expectOne(
      base.replace(
        "    storage_disk: /dev/vdb\n",
        "    storage_disk: /dev/vdb\n    bmc: { address: http://203.0.113.1, username: u, password_secret: p }\n",
      ),
      {
        line: 8,
        col: 21,
        key: "nodes[0].bmc.address",
        message: /not an https URL/,
        fix: /Redfish requires TLS/,
      },
    );
  });

  test("air-gapped install without artifacts", () => {
    expectOne(base.replace("cluster:\n", "cluster:\n  k3s: { install: airgap }\n"), {
      line: 2,
      col: 19,
      key: "cluster.k3s.install",
      message: /needs `artifacts_dir`/,
      fix: /sha256sum-<arch>.txt/,
    });
  });

  test("Rancher enabled without the host name it answers at: refused (test/rancher has the rest)", () => {
    expectOne(base.replace("cluster:\n", "cluster:\n  rancher: { enabled: true }\n"), {
      line: 2,
      col: 12,
      key: "cluster.rancher",
      message: /required key `hostname` is missing/,
      fix: /add `hostname: rancher\./,
    });
  });

  test("every problem is reported at once, in file order", () => {
    const found = problems(base.replace("role: worker", "role: boss").replace("198.51.100.10", "nope"));
    expect(found.map((p) => p.key)).toEqual(["nodes[0].internal_ip", "nodes[1].role"]);
  });

  test("a missing file says how to make one", () => {
    expect(() => loadInventory("/nonexistent/inv.yaml")).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(/no such file/),
        fix: expect.stringMatching(/powerstack init/),
      }),
    );
  });
});

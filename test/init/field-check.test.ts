import { describe, expect, it } from "vitest";
import { checkAnswer, explain, fieldAt, parsePath } from "../../src/inventory/field-check.js";
import { InventoryError, parseInventory } from "../../src/inventory/load.js";
import { formatPath } from "../../src/inventory/schema-walker.js";

const MINIMAL = (internalIp: string) => `
cluster:
  nfs_network: 198.51.100.0/24
nodes:
  - name: node1
    role: control
    internal_ip: ${internalIp}
    storage_disk: /dev/sdb
`;

describe("fieldAt / parsePath", () => {
  it("finds the schema field behind a key path, list items included", () => {
    expect(fieldAt(["nodes", 3, "bmc", "address"])).toMatchObject({ kind: "string", required: true });
    expect(fieldAt(["cluster", "node_ports", "grafana"])).toMatchObject({
      kind: "int",
      min: 30000,
      max: 32767,
    });
    expect(fieldAt(["cluster", "no_such_key"])).toBeUndefined();
    expect(fieldAt(["nodes", "name"])).toBeUndefined();
  });

  it("parses what formatPath prints", () => {
    for (const path of [
      ["nodes", 1, "bmc", "address"],
      ["cluster", "k3s", "version"],
      ["nodes"],
      ["nodes", 0],
    ]) {
      expect(parsePath(formatPath(path))).toEqual(path);
    }
  });
});

describe("checkAnswer", () => {
  it("accepts a valid answer and returns it typed", () => {
    expect(checkAnswer(["nodes", 0, "internal_ip"], "198.51.100.11")).toEqual({
      ok: true,
      value: "198.51.100.11",
    });
    expect(checkAnswer(["cluster", "node_ports", "grafana"], "30031")).toEqual({ ok: true, value: 30031 });
    expect(checkAnswer(["nodes", 0, "bmc", "insecure"], true)).toEqual({ ok: true, value: true });
  });

  it("rejects with the schema's message and fix", () => {
    const r = checkAnswer(["nodes", 0, "internal_ip"], "198.51.100.300");
    expect(r).toMatchObject({
      ok: false,
      message: "`198.51.100.300` is not an IPv4 address such as `10.0.0.11`",
    });
    const port = checkAnswer(["cluster", "node_ports", "grafana"], "80");
    expect(port).toMatchObject({ ok: false, message: "80 is outside the allowed range 30000-32767" });
    const role = checkAnswer(["nodes", 0, "role"], "contrl");
    expect(role).toMatchObject({ ok: false, fix: "did you mean `control`?" });
  });

  it("treats an empty answer as none: an error for a required key, undefined for an optional one", () => {
    expect(checkAnswer(["nodes", 0, "name"], "  ")).toMatchObject({
      ok: false,
      message: "nodes[0].name is required",
    });
    expect(checkAnswer(["nodes", 0, "external_ip"], "")).toEqual({ ok: true, value: undefined });
  });

  it("says exactly what the loader says about the same value in a file", () => {
    const answer = checkAnswer(["nodes", 0, "internal_ip"], "198.51.100.300");
    let loader: InventoryError | undefined;
    try {
      parseInventory(MINIMAL("198.51.100.300"), "inv.yaml");
    } catch (err) {
      loader = err as InventoryError;
    }
    expect(loader?.problems[0]).toMatchObject({ key: "nodes[0].internal_ip" });
    expect(answer.ok).toBe(false);
    if (!answer.ok)
      expect([answer.message, answer.fix]).toEqual([loader!.problems[0]!.message, loader!.problems[0]!.fix]);
    expect(() => parseInventory(MINIMAL("198.51.100.11"), "inv.yaml")).not.toThrow();
  });

  it("explains without repeating the hint twice", () => {
    const r = checkAnswer(["nodes", 0, "bmc", "address"], "203.0.113.11");
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(explain(r)).toBe(
        "`203.0.113.11` is not an https URL such as `https://10.0.1.11` (Redfish requires TLS)",
      );
    const role = checkAnswer(["nodes", 0, "role"], "contrl");
    if (!role.ok) expect(explain(role)).toContain("did you mean `control`?");
  });
});

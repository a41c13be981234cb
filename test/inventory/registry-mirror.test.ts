/** `cluster.registry_mirror`: where an air-gapped cluster pulls `powerstack experiment`'s images from. */
import { describe, expect, test } from "vitest";
import { parseInventory } from "../../src/inventory/load.js";
import { INVENTORY_FILE, MINIMAL_INVENTORY, rejection } from "../support/minimal-inventory.js";

const withMirror = (value: string) =>
  MINIMAL_INVENTORY.replace("cluster:\n", `cluster:\n  registry_mirror: ${value}\n`);

describe("cluster.registry_mirror", () => {
  test("unset by default; a host, host:port or host/path is taken as written", () => {
    expect(parseInventory(MINIMAL_INVENTORY, INVENTORY_FILE).cluster.registryMirror).toBeUndefined();
    for (const mirror of ["registry.lab", "registry.lab:5000", "10.0.0.5:5000", "harbor.lab/proxy-cache"])
      expect(parseInventory(withMirror(mirror), INVENTORY_FILE).cluster.registryMirror).toBe(mirror);
  });

  test("a URL or a repository with a tag is refused at its line and column, with the form to write", () => {
    for (const bad of ["https://registry.lab", "registry.lab:5000/x:latest", "registry lab"]) {
      const p = rejection(withMirror(JSON.stringify(bad))).problems;
      expect(p).toHaveLength(1);
      expect(p[0]).toMatchObject({
        file: INVENTORY_FILE,
        line: 2,
        col: 20,
        key: "cluster.registry_mirror",
        fix: "write a registry `host[:port]` such as `registry.lab:5000`",
      });
    }
  });
});

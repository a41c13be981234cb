/** `cluster.rancher`: the keys, their defaults, and one clear error per mistake (file:line:col, key, fix). */
import { describe, expect, test } from "vitest";
import { parseInventory, secretReferences } from "../../src/inventory/load.js";
import { INVENTORY_FILE, MINIMAL_INVENTORY, rejection } from "../support/minimal-inventory.js";
import { HOSTNAME, plainInventory, rancherInventory, withRancher } from "./fixtures.js";

const only = (text: string) => {
  const e = rejection(text);
  expect(e.problems).toHaveLength(1);
  return e.problems[0]!;
};

describe("cluster.rancher", () => {
  test("off by default: nothing required, no vault key referenced", () => {
    const inv = plainInventory();
    expect(inv.cluster.rancher).toEqual({
      enabled: false,
      hostname: undefined,
      bootstrapPasswordSecret: "rancher_bootstrap_password",
      version: "2.12.3",
    });
    expect(secretReferences(inv).map((r) => r.key)).not.toContain(
      "cluster.rancher.bootstrap_password_secret",
    );
  });

  test("enabled with a host name loads (it was refused before Rancher was built)", () => {
    const inv = rancherInventory(", bootstrap_password_secret: my_rancher_pw");
    expect(inv.cluster.rancher).toEqual({
      enabled: true,
      hostname: HOSTNAME,
      bootstrapPasswordSecret: "my_rancher_pw",
      version: "2.12.3",
    });
    // The vault must hold it: `up` and `verify` refuse a missing key before contacting a node.
    expect(secretReferences(inv)).toContainEqual({
      secret: "my_rancher_pw",
      key: "cluster.rancher.bootstrap_password_secret",
    });
  });

  test("enabled without a host name: refused at cluster.rancher", () => {
    const p = only(withRancher("{ enabled: true }"));
    expect({ file: p.file, line: p.line, key: p.key }).toEqual({
      file: INVENTORY_FILE,
      line: 2,
      key: "cluster.rancher",
    });
    expect(p.message).toMatch(/required key `hostname` is missing/);
    expect(p.fix).toMatch(/hostname: rancher\./);
  });

  test.each([
    ["an IPv4 address", "198.51.100.10"],
    ["a single label", "rancher"],
    ["upper case", "Rancher.example.org"],
  ])("a host name that is %s: refused with the pattern's hint", (_why, host) => {
    const p = only(withRancher(`{ enabled: true, hostname: ${host} }`));
    expect(p.key).toBe("cluster.rancher.hostname");
    expect(`${p.message} ${p.fix}`).toMatch(/a DNS name/);
  });

  test("a version that is not pinned and tested: refused, naming the one that is", () => {
    const p = only(withRancher(`{ enabled: true, hostname: ${HOSTNAME}, version: 2.13.3 }`));
    expect(p.key).toBe("cluster.rancher.version");
    expect(`${p.message} ${p.fix}`).toContain("2.12.3");
  });

  test("Traefik disabled while Rancher is enabled: refused at the list entry", () => {
    const text = withRancher(`{ enabled: true, hostname: ${HOSTNAME} }`).replace(
      "cluster:\n",
      "cluster:\n  k3s: { disable: [servicelb, traefik] }\n",
    );
    const p = only(text);
    expect(p.key).toBe("cluster.k3s.disable[1]");
    expect(p.message).toMatch(/nothing would serve Rancher's Ingress/);
    // Disabled Rancher: the same K3s setting is fine.
    expect(() =>
      parseInventory(
        MINIMAL_INVENTORY.replace("cluster:\n", "cluster:\n  k3s: { disable: [traefik] }\n"),
        INVENTORY_FILE,
      ),
    ).not.toThrow();
  });

  test("a misspelt key under cluster.rancher is an error, not ignored", () => {
    const p = only(withRancher(`{ enabled: true, hostname: ${HOSTNAME}, bootstrap_password: x }`));
    expect(p.key).toMatch(/cluster\.rancher\.bootstrap_password/);
  });
});

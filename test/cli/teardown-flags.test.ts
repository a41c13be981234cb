/**
 * `powerstack teardown --only/--skip` (issue 16 item 8): a role named by both, or a selection that would
 * run nothing, is a usage error before the inventory is read; never a silent no-op.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { selectRoles } from "../../src/cli/teardown.js";
import { filterRoles, loadPlaybook } from "../../src/engine/playbook.js";
import { packageRoot } from "../../src/package-root.js";
import { powerstackInProcess } from "../energy/cli.js";
import { failure } from "../support/failure.js";

const FILE = join(packageRoot(), "playbooks", "teardown.yaml");
const plays = loadPlaybook(FILE);
const roles = (flags: Parameters<typeof selectRoles>[1]) => {
  const po = selectRoles(plays, flags, FILE);
  return filterRoles(plays, po.only, po.skip).flatMap((p) => p.roles);
};

describe("teardown --only/--skip contradictions", () => {
  it("a role in both (short or full name) is refused, naming it", () => {
    expect(failure(() => roles({ only: "kernel", skip: "kernel" }))).toBe(
      "--only and --skip both name `teardown-kernel`: the role would be skipped\n  fix: name each role in only one of the two",
    );
    expect(failure(() => roles({ only: "storage,kernel", skip: "teardown-storage" }))).toMatch(
      /^--only and --skip both name `teardown-storage`/,
    );
  });

  it("--only naming just the wipe without --purge-data would run nothing: refused", () => {
    expect(failure(() => roles({ only: "purge-data" }))).toBe(
      "--only teardown-purge-data without --purge-data would run nothing: the data filesystem is wiped only with --purge-data\n" +
        "  fix: add --purge-data (and teardown-storage, which unmounts it first)",
    );
    // With another role it is still left out, as before.
    expect(roles({ only: "teardown-storage,teardown-purge-data" })).toEqual(["teardown-storage"]);
    expect(roles({ only: "storage,purge-data", purgeData: true })).toEqual([
      "teardown-storage",
      "teardown-purge-data",
    ]);
  });

  it("through the CLI: exit 2 before the inventory is opened (it does not exist here)", async () => {
    const r = await powerstackInProcess([
      "-i",
      "/nonexistent/inventory.yaml",
      "teardown",
      "--yes",
      "--only",
      "kernel",
      "--skip",
      "kernel",
    ]);
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "powerstack: --only and --skip both name `teardown-kernel`: the role would be skipped\n" +
        "  fix: name each role in only one of the two\n",
    });
  });
});

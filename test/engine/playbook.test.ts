/**
 * Role and host selection on the package's own up playbook: `--only` / `--skip` (a role in both is a
 * usage error, issue 16 item 8) and `--limit` as the CLI applies it (one that names nothing is refused:
 * never "every node", never an empty run that exits 0).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkOnlySkip, filterRoles, limitHosts, loadPlaybook } from "../../src/engine/playbook.js";
import { describeError, InputError } from "../../src/errors.js";
import { packageRoot } from "../../src/package-root.js";
import { inventory } from "../teardown/support/run-teardown.js";

const plays = loadPlaybook(join(packageRoot(), "playbooks", "up.yaml"));
const roles = (only?: string[], skip?: string[]) => filterRoles(plays, only, skip).flatMap((p) => p.roles);

function failure(f: () => unknown): { text: string; exitCode: number } {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return { text: describeError(err), exitCode: (err as InputError).exitCode };
  }
  throw new Error("expected a usage error");
}

describe("--only and --skip", () => {
  it("pick and drop roles; plays left without roles are dropped", () => {
    expect(roles(["kernel"])).toEqual(["kernel"]);
    expect(roles(undefined, ["kernel"])).not.toContain("kernel");
    expect(roles(["kernel", "storage"])).toEqual(["kernel", "storage"]);
  });

  it("a role named by both is a usage error naming it, not a silent no-op", () => {
    expect(failure(() => roles(["kernel"], ["kernel"]))).toEqual({
      text: "--only and --skip both name `kernel`: the role would be skipped\n  fix: name each role in only one of the two",
      exitCode: 2,
    });
    // Also when other roles would still run: the contradiction is the user's, whatever else is named.
    expect(failure(() => roles(["kernel", "storage", "nfs-server"], ["storage", "kernel"])).text).toMatch(
      /^--only and --skip both name `kernel`, `storage`: those roles would be skipped\n/,
    );
    expect(() => checkOnlySkip(["kernel"], ["storage"])).not.toThrow();
    expect(() => checkOnlySkip(undefined, ["storage"])).not.toThrow();
  });

  it("a misspelt role is reported as such first, even when named by both", () => {
    expect(failure(() => roles(["kernal"], ["kernal"])).text).toMatch(
      /^unknown role `kernal` in --only\/--skip\n {2}fix: did you mean `kernel`\?/,
    );
  });
});

describe("--limit", () => {
  const inv = inventory();

  it("absent: no limit; otherwise the nodes its names and groups select, in inventory order", () => {
    expect(limitHosts(inv, undefined)).toBeUndefined();
    expect([...limitHosts(inv, "w2, ctl")!]).toEqual(["ctl", "w2"]);
    expect([...limitHosts(inv, "workers")!]).toEqual(["w1", "w2"]);
    expect([...limitHosts(inv, "all")!]).toEqual(["ctl", "w1", "w2"]);
  });

  it.each(["", ",", " , ", ",,"])("%j selects nothing and is a usage error, never every node", (limit) => {
    expect(failure(() => limitHosts(inv, limit))).toEqual({
      text:
        `--limit ${JSON.stringify(limit)} names no node or group: an empty --limit is refused, not taken as every node\n` +
        "  fix: name nodes or groups (all, control, workers), e.g. --limit ctl,workers; to run on every node, leave --limit out",
      exitCode: 2,
    });
  });

  it("an unknown name is a usage error with the nearest node", () => {
    expect(failure(() => limitHosts(inv, "w3")).text).toMatch(
      /^no node or group named `w3`\n {2}fix: did you mean `w1`\?/,
    );
  });
});

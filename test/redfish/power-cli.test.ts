/**
 * `powerstack power` argument handling through the real command line: usage errors exit 2 before the
 * inventory or vault is opened.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";

describe("powerstack power (command line)", () => {
  let stderr: string[];
  beforeEach(() => {
    stderr = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("rejects an unknown action", async () => {
    expect(await main(["-i", "/nonexistent.yaml", "power", "reboot", "node2"])).toBe(2);
    expect(stderr.join("")).toContain("unknown power action `reboot`\n  fix: use one of: status, off, on");
  });

  it("needs exactly one node for off and on", async () => {
    expect(await main(["-i", "/nonexistent.yaml", "power", "off"])).toBe(2);
    expect(stderr.join("")).toContain("`power off` takes exactly one node, got 0");
    expect(await main(["-i", "/nonexistent.yaml", "power", "on", "node2", "node3"])).toBe(2);
    expect(stderr.join("")).toContain("`power on` takes exactly one node, got 2");
  });

  it("checks --drain-timeout", async () => {
    expect(await main(["-i", "/nonexistent.yaml", "power", "off", "node2", "--drain-timeout", "soon"])).toBe(
      2,
    );
    expect(stderr.join("")).toContain('--drain-timeout needs a whole number of seconds >= 1, got "soon"');
  });

  describe("power idle (issue 19, item 11): for a timer, so it never asks", () => {
    it("without --yes and not --check: refuses (exit 2) before the inventory is read, even on a terminal", async () => {
      expect(await main(["-i", "/nonexistent.yaml", "power", "idle"])).toBe(2);
      const text = stderr.join("");
      expect(text).toContain("power idle drains and powers off idle workers");
      expect(text).toContain("pass --yes");
      expect(text).not.toContain("nonexistent.yaml");
    });

    it("takes no node names and checks --idle-for", async () => {
      expect(await main(["-i", "/nonexistent.yaml", "power", "idle", "node2", "--yes"])).toBe(2);
      expect(stderr.join("")).toContain("`power idle` takes no node names, got node2");
      expect(await main(["-i", "/nonexistent.yaml", "power", "idle", "--check", "--idle-for", "30"])).toBe(2);
      expect(stderr.join("")).toContain('--idle-for "30" is not a duration');
    });

    it("--yes or --check go on to the inventory", async () => {
      for (const flag of ["--yes", "--check"]) {
        stderr.length = 0;
        expect(await main(["-i", "/nonexistent.yaml", "power", "idle", flag, "--idle-for", "1h"])).toBe(2);
        expect(stderr.join("")).toContain("nonexistent.yaml");
      }
    });
  });

  describe("power off asks first (issue 19, item 4)", () => {
    let tty: PropertyDescriptor | undefined;
    beforeEach(() => {
      tty = Object.getOwnPropertyDescriptor(process.stdin, "isTTY");
      Object.defineProperty(process.stdin, "isTTY", { value: undefined, configurable: true });
    });
    afterEach(() => {
      if (tty) Object.defineProperty(process.stdin, "isTTY", tty);
      else delete (process.stdin as { isTTY?: boolean }).isTTY;
    });

    it("with no terminal and no --yes: refuses (exit 2) before the inventory or vault is read", async () => {
      expect(await main(["-i", "/nonexistent.yaml", "power", "off", "node2"])).toBe(2);
      const text = stderr.join("");
      expect(text).toContain(
        "power off asks before it drains node2 and shuts it down, and there is no terminal to ask on",
      );
      expect(text).toContain("pass --yes to confirm in advance");
      expect(text).not.toContain("nonexistent.yaml"); // the inventory was never opened
    });

    it("--yes (before or after the command) and --check go on to the inventory", async () => {
      for (const argv of [
        ["-i", "/nonexistent.yaml", "--yes", "power", "off", "node2"],
        ["-i", "/nonexistent.yaml", "power", "off", "node2", "--yes"],
        ["-i", "/nonexistent.yaml", "power", "off", "node2", "--check"],
      ]) {
        stderr.length = 0;
        expect(await main(argv)).toBe(2);
        expect(stderr.join("")).not.toContain("no terminal to ask on");
        expect(stderr.join("")).toContain("nonexistent.yaml");
      }
    });

    it("status and on never ask", async () => {
      for (const action of ["status", "on"]) {
        stderr.length = 0;
        await main(["-i", "/nonexistent.yaml", "power", action, "node2"]);
        expect(stderr.join("")).not.toContain("no terminal to ask on");
      }
    });
  });
});

import { describe, expect, test } from "vitest";
import { changedLineCount, diffText, sensitiveNote, unifiedDiff } from "../../src/engine/diff.js";

describe("diff of a change", () => {
  test("changed lines: a replaced line is one, a run of removed and added lines counts its longer side", () => {
    expect(changedLineCount("a\nb\nc\n", "a\nB\nc\n")).toBe(1);
    expect(changedLineCount("", "a\nb\nc\n")).toBe(3);
    expect(changedLineCount("a\nb\nc\n", "")).toBe(3);
    expect(changedLineCount("a\nb\nc\nd\n", "A\nb\nc\nD\nE\n")).toBe(3);
    expect(changedLineCount("same\n", "same\n")).toBe(0);
    expect(sensitiveNote("t: 1\n", "t: 2\n")).toBe("(sensitive: 1 line changed)");
    expect(sensitiveNote("", "a\nb\n")).toBe("(sensitive: 2 lines changed)");
  });

  test("a sensitive change shows its path and how many lines changed, never a line of it", () => {
    const diff = {
      path: "/etc/rancher/k3s/config.yaml",
      before: "node: a\ntoken: old\n",
      after: "node: a\ntoken: new\n",
    };
    expect(diffText({ summary: "write", diff, sensitive: true })).toBe(
      [
        "--- /etc/rancher/k3s/config.yaml (before)",
        "+++ /etc/rancher/k3s/config.yaml (after)",
        "(sensitive: 1 line changed)",
      ].join("\n"),
    );
    expect(diffText({ summary: "write", diff })).toBe(unifiedDiff(diff.path, diff.before, diff.after));
    expect(diffText({ summary: "restart" })).toBeUndefined();
  });
});

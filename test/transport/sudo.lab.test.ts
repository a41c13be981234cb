/**
 * become: a non-root SSH user on a real lab node with real sudo. With a password, sudo reads it from
 * stdin (never argv: checked in the node's process list while a command runs), the command's own stdin
 * still arrives intact, and a wrong password is one clear failure. With NOPASSWD, no password is sent.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { PowerstackError } from "../../src/errors.js";
import { UnreachableError } from "../../src/transport/errors.js";
import { SshHost } from "../../src/transport/ssh-host.js";
import { ensureSudoUser, labHost, labInventory, removeSudoUser } from "../support/lab.js";

const NODE = "w1";
const PASSWORD = "sudo-Pa55-" + Math.random().toString(36).slice(2, 8);
let root: SshHost;

beforeAll(async () => {
  root = await labHost(NODE);
  await ensureSudoUser(root, "deploy", PASSWORD);
  await ensureSudoUser(root, "nopass");
});
afterAll(async () => {
  if (root) for (const u of ["deploy", "nopass"]) await removeSudoUser(root, u);
  await root?.close();
});

function connectAs(user: string, becomePassword?: string) {
  const inv = labInventory();
  const node = inv.nodes.find((n) => n.name === NODE)!;
  return SshHost.connect(
    { name: NODE, address: node.sshAddress, port: node.sshPort },
    { ...inv.ssh, user },
    { becomePassword },
  );
}

describe(`become (sudo) on a real lab node (${NODE})`, () => {
  test("with a password: root through sudo, password only on stdin, the command's stdin intact", async () => {
    const h = await connectAs("deploy", PASSWORD);
    try {
      expect((await h.exec("id -u")).stdout.trim()).toBe("0");
      expect((await h.exec("id -un", { become: false })).stdout.trim()).toBe("deploy");
      const running = h.exec("cat > /root/from-stdin; sleep 2");
      await new Promise((r) => setTimeout(r, 800));
      const ps = (await root.exec("ps -eo args")).stdout;
      expect(ps).toContain("sleep 2");
      expect(ps).not.toContain(PASSWORD);
      expect((await running).code).toBe(0);
      const r = await h.exec("cat", { stdin: "payload line 1\npayload line 2\n" });
      expect(r.stdout).toBe("payload line 1\npayload line 2\n");
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    } finally {
      await h.close();
    }
  });

  test("NOPASSWD sudo: nothing is sent to sudo, so stdin goes to the command untouched", async () => {
    const h = await connectAs("nopass", "never-sent-" + PASSWORD);
    try {
      expect((await h.exec("cat; id -u", { stdin: "only this\n" })).stdout).toBe("only this\n0\n");
    } finally {
      await h.close();
    }
  });

  test("a wrong sudo password fails the command clearly: sudo's refusal, with the fix, not a stderr tail", async () => {
    const h = await connectAs("deploy", "wrong-password");
    try {
      const err = await h.exec("id -u").then(
        () => undefined,
        (e: unknown) => e as PowerstackError,
      );
      expect(err?.message).toBe("w1: sudo refused the become password for deploy");
      expect(err?.fix).toMatch(/become_password_secret/);
      expect(err?.exitCode).toBe(1);
    } finally {
      await h.close();
    }
  });

  test("sudo needs a password and none is configured: unreachable with the fix", async () => {
    const h = await connectAs("deploy");
    try {
      await expect(h.exec("id -u")).rejects.toThrow(UnreachableError);
      await expect(h.exec("id -u")).rejects.toMatchObject({
        fix: expect.stringMatching(/become_password_secret/),
      });
    } finally {
      await h.close();
    }
  });
});

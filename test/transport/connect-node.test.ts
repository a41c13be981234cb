/**
 * The one way to an inventory node over SSH (playbook runner, verify, the control node's Cluster), on a
 * REAL sshd on loopback: it connects with the inventory's SSH settings, and the sudo password is looked
 * up in the vault once, when the connector is made, so a vault without it fails before any node is
 * contacted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import type { NodeSpec } from "../../src/inventory/types.js";
import { connectNode, nodeConnector } from "../../src/transport/connect-node.js";
import { startSshd, type Sshd } from "../support/sshd.js";

let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

const node = (name: string) => ({ name, sshAddress: "127.0.0.1", sshPort: sshd.port }) as NodeSpec;

describe("connecting to an inventory node", () => {
  it("connects each node with the inventory's SSH settings; the sudo password is looked up once", async () => {
    const asked: string[] = [];
    const secret = (name: string) => (asked.push(name), "sudo-pw");
    const connect = nodeConnector({ ssh: sshd.settings({ becomePasswordSecret: "become_pw" }) }, secret);
    const hosts = await Promise.all([connect(node("ctl")), connect(node("w1"))]);
    try {
      expect(hosts.map((h) => h.name)).toEqual(["ctl", "w1"]);
      for (const h of hosts) expect((await h.exec("echo reached")).stdout.trim()).toBe("reached");
      expect(asked).toEqual(["become_pw"]);
    } finally {
      await Promise.all(hosts.map((h) => h.close()));
    }
  });

  it("without become_password_secret the vault is not asked", async () => {
    const host = await connectNode(node("ctl"), { ssh: sshd.settings() }, (name) => {
      throw new Error(`asked for ${name}`);
    });
    await host.close();
  });

  it("a vault without the sudo password fails when the connector is made, before any node is contacted", () => {
    const missing = (name: string): string => {
      throw new InputError(`vault has no key \`${name}\``, "add it");
    };
    const before = sshd.log();
    expect(() => nodeConnector({ ssh: sshd.settings({ becomePasswordSecret: "nope" }) }, missing)).toThrow(
      InputError,
    );
    expect(sshd.log()).toBe(before);
  });
});

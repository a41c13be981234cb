/**
 * The SSH connection's TCP socket has Nagle's algorithm off. With it on, a command's small packets wait
 * for the node's delayed ACK (about 40 ms on Linux) several times per command: a no-op rerun at one host
 * spent most of its time there. Checked on the socket of a real connection to a real sshd on loopback.
 */
import { Socket } from "node:net";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { SshHost } from "../../src/transport/ssh-host.js";
import { startSshd, type Sshd } from "../support/sshd.js";

let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

test("the socket to the node is set TCP_NODELAY", async () => {
  const noDelay = new Set<Socket>();
  const real = Socket.prototype.setNoDelay;
  const spy = vi.spyOn(Socket.prototype, "setNoDelay").mockImplementation(function (this: Socket, on) {
    if (on !== false) noDelay.add(this);
    return real.call(this, on);
  });
  try {
    const host = await SshHost.connect(
      { name: "loop", address: "127.0.0.1", port: sshd.port },
      sshd.settings(),
    );
    try {
      expect((await host.exec("echo ok")).stdout).toBe("ok\n");
      expect([...noDelay].some((s) => s.remotePort === sshd.port)).toBe(true);
    } finally {
      await host.close();
    }
  } finally {
    spy.mockRestore();
  }
});

/**
 * uploadIfChanged with a NON-ROOT login user and password sudo, on a real lab node (its Debian sshd has
 * the sftp subsystem): SFTP writes as that user into a private staging file it owns (0600), root moves
 * it into place with the requested mode and owner and checks its sha256 there, and no staging file
 * remains, also when the root side fails. The loopback sshd test (upload.sftp.test.ts) logs in as root:
 * this machine has neither sudo nor an unprivileged login user to spare.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Host, PutFileOptions } from "../../src/transport/host.js";
import { SshHost } from "../../src/transport/ssh-host.js";
import { uploadIfChanged } from "../../src/transport/upload.js";
import { ensureSudoUser, labHost, labInventory, removeSudoUser } from "../support/lab.js";

const NODE = "w1";
const USER = "stager";
const PASSWORD = "stage-Pa55-" + Math.random().toString(36).slice(2, 8);
const DEST = "/var/lib/powerstack-upload-lab";
let root: SshHost;
let user: SshHost;
const tmp = mkdtempSync(join(tmpdir(), "powerstack-upload-lab-"));

beforeAll(async () => {
  root = await labHost(NODE);
  await ensureSudoUser(root, USER, PASSWORD);
  const inv = labInventory();
  const node = inv.nodes.find((n) => n.name === NODE)!;
  user = await SshHost.connect(
    { name: NODE, address: node.sshAddress, port: node.sshPort },
    { ...inv.ssh, user: USER },
    { becomePassword: PASSWORD },
  );
});
afterAll(async () => {
  await user?.close();
  await root?.exec(`rm -rf ${DEST}`);
  if (root) await removeSudoUser(root, USER);
  await root?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe(`upload as a non-root user with sudo (lab node ${NODE})`, () => {
  test("staged as the user (0600), in place as root with its mode, sha256 checked, staging gone; rerun sends nothing", async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const local = join(tmp, "artifact");
    writeFileSync(local, data);
    const staged: Array<{ path: string; owner: string }> = [];
    const watched: Host = {
      name: user.name,
      exec: (c, o) => user.exec(c, o),
      close: async () => {},
      putFile: async (l: string, r: string, o?: PutFileOptions) => {
        await user.putFile!(l, r, o);
        // As it lies between the user's transfer and root's move into place.
        staged.push({ path: r, owner: (await root.exec(`stat -c '%U %a' ${r}`)).stdout.trim() });
      },
    };
    const remote = `${DEST}/bin/artifact`;
    const records = `${DEST}/records`;
    expect(await uploadIfChanged(watched, local, remote, { mode: "0755", recordsDir: records })).toBe(true);
    expect(staged).toHaveLength(1);
    expect(staged[0]!.owner).toBe(`${USER} 600`);
    expect((await root.exec(`test -e ${staged[0]!.path}; echo $?`)).stdout.trim()).toBe("1");
    expect((await root.exec(`stat -c '%U %G %a' ${remote}`)).stdout.trim()).toBe("root root 755");
    expect((await root.exec(`sha256sum ${remote} | cut -d' ' -f1`)).stdout.trim()).toBe(
      createHash("sha256").update(data).digest("hex"),
    );
    expect(await uploadIfChanged(watched, local, remote, { mode: "0755", recordsDir: records })).toBe(false);
    expect(staged).toHaveLength(1);
  });

  test("a root-side failure removes the user's staging file too", async () => {
    const local = join(tmp, "artifact2");
    writeFileSync(local, randomBytes(10_000));
    await root.exec(`mkdir -p ${DEST} && touch ${DEST}/blocker`);
    const staged: string[] = [];
    const watched: Host = {
      name: user.name,
      exec: (c, o) => user.exec(c, o),
      close: async () => {},
      putFile: async (l: string, r: string, o?: PutFileOptions) => {
        staged.push(r);
        return user.putFile(l, r, o);
      },
    };
    await expect(
      uploadIfChanged(watched, local, `${DEST}/blocker/x`, { recordsDir: `${DEST}/records` }),
    ).rejects.toThrow(/upload artifact2/);
    expect(staged).toHaveLength(1);
    expect((await root.exec(`test -e ${staged[0]}; echo $?`)).stdout.trim()).toBe("1");
  });
});

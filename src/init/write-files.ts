/**
 * Writing the two files, and only with consent: an existing inventory or vault is replaced only after a
 * "yes" at the prompt (or `--yes` in scripts). Then both are read back the way `up` will read them.
 */
import { existsSync } from "node:fs";
import { link, mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { ExitCode, InputError, PowerstackError } from "../errors.js";
import { parseInventory, secretReferences } from "../inventory/load.js";
import type { Inventory } from "../inventory/types.js";
import { VaultStore } from "../vault/store.js";
import type { Asker } from "./asker.js";

/** Which of `files` exist and may be replaced; refuses (nothing written yet) when one may not. */
export async function confirmReplacements(
  files: Array<{ path: string; shown: string; flag: string }>,
  asker: Asker,
  yes: boolean,
): Promise<Set<string>> {
  const existing = files.filter((f) => existsSync(f.path));
  const replace = new Set<string>();
  if (existing.length === 0) return replace;
  if (yes) {
    existing.forEach((f) => replace.add(f.path));
    return replace;
  }
  if (!asker.interactive) {
    throw new InputError(
      `${existing.map((f) => f.shown).join(" and ")} already exist${existing.length === 1 ? "s" : ""}; refusing to overwrite without --yes`,
      `pass --yes to replace ${existing.length === 1 ? "it" : "them"}, or write elsewhere with ${existing.map((f) => `${f.flag} <file>`).join(" / ")}`,
    );
  }
  for (const f of existing) {
    if (!(await asker.confirm(`${f.shown} already exists. Overwrite it?`, false))) {
      throw new PowerstackError(
        `kept ${f.shown}; nothing was written`,
        ExitCode.failed,
        `to write elsewhere, pass ${f.flag} <file>`,
      );
    }
    replace.add(f.path);
  }
  return replace;
}

export async function writeVaultFile(
  path: string,
  password: string,
  values: Record<string, string>,
  replace: boolean,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  if (!replace) {
    await VaultStore.create(path, password, values);
    return;
  }
  // VaultStore.create never replaces a file; create beside it, then rename over it in one step.
  const tmp = join(dirname(path), `.${basename(path)}.init-${randomBytes(6).toString("hex")}`);
  try {
    await VaultStore.create(tmp, password, values);
    await rename(tmp, path);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

export async function writeInventoryFile(path: string, text: string, replace: boolean): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.init-${randomBytes(6).toString("hex")}`);
  try {
    await writeFile(tmp, text, { mode: 0o644, flag: "wx" });
    if (replace) await rename(tmp, path);
    else {
      // link(2) fails instead of replacing: a file that appeared since the check is still not overwritten.
      await link(tmp, path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "EEXIST")
          throw new InputError(
            `${path} appeared while init was running; not overwritten`,
            "run powerstack init again",
          );
        throw err;
      });
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Read both files back as `up` will: the inventory through the loader, the vault with the password, every referenced key present. */
export async function verifyWritten(inventoryPath: string, password: string): Promise<Inventory> {
  const inventory = parseInventory(await readFile(inventoryPath, "utf8"), inventoryPath);
  const vault = await VaultStore.open(inventory.vaultFile, password);
  const missing = secretReferences(inventory).filter((r) => !vault.has(r.secret));
  if (missing.length > 0) {
    throw new PowerstackError(
      `internal: the vault written lacks ${missing.map((m) => `\`${m.secret}\` (${m.key})`).join(", ")}`,
      ExitCode.failed,
      `add them with \`powerstack vault edit ${inventory.vaultFile}\``,
    );
  }
  return inventory;
}

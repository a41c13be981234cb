/**
 * The migration from the original research cluster's Ansible setup, as a user runs it: its inventory and
 * its untouched nested vault (an `ansible-vault encrypt` of fixtures/original/vault.plain.yml) copied into
 * `dir/configs/` as the original keeps them, then `powerstack init --defaults --from-ansible` writing
 * `dir/powerstack/inventory.yaml`. The files stay in `dir` for whoever calls this (the lab runs `up --check`
 * on them); the caller removes `dir`.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, runCli, type CliResult } from "./cli.js";

export const ORIGINAL = join(FIXTURES, "original");
/** The password the fixture vault was encrypted with (fixtures/original/vault-password.txt). */
export const ORIGINAL_VAULT_PASSWORD = "original-fixture-vault-pw";

export interface OriginalImport {
  result: CliResult;
  /** The copy of the Ansible inventory that was imported. */
  source: string;
  /** The copy of the Ansible vault: the written inventory's vault_file, never rewritten. */
  vault: string;
  passwordFile: string;
  /** The inventory init wrote. */
  inventory: string;
}

export async function importOriginal(
  dir: string,
  opts: {
    env?: Record<string, string>;
    args?: string[];
    /** The Ansible inventory's text, when not the fixture's as it is (the lab's addresses swapped in). */
    inventoryText?: string;
  } = {},
): Promise<OriginalImport> {
  const configs = join(dir, "configs");
  mkdirSync(configs, { recursive: true });
  const source = join(configs, "inventory.yml");
  const vault = join(configs, "vault.yml");
  const passwordFile = join(dir, "vault-password.txt");
  if (opts.inventoryText !== undefined) writeFileSync(source, opts.inventoryText);
  else copyFileSync(join(ORIGINAL, "inventory.yml"), source);
  copyFileSync(join(ORIGINAL, "vault.yml"), vault);
  copyFileSync(join(ORIGINAL, "vault-password.txt"), passwordFile);
  const result = await runCli(
    [
      "init",
      "--defaults",
      "--from-ansible",
      "configs/inventory.yml",
      "--output",
      "powerstack/inventory.yaml",
      "--vault-password-file",
      "vault-password.txt",
      ...(opts.args ?? []),
    ],
    { cwd: dir, env: opts.env },
  );
  return { result, source, vault, passwordFile, inventory: join(dir, "powerstack/inventory.yaml") };
}

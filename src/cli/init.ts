/**
 * `powerstack init`: from nothing (or an Ansible inventory) to a valid inventory and an encrypted vault.
 * Order matters for safety: consent to overwrite first, every answer checked, the whole draft checked by
 * the loader, and only then anything written; finally both files are read back the way `up` reads them.
 */
import type { ParsedCommand } from "./argv.js";
import { dirname, relative, resolve } from "node:path";
import { ExitCode, InputError, PowerstackError } from "../errors.js";
import { chooseAnsibleVault, type VaultChoice } from "../init/ansible/choose-vault.js";
import { readAnsibleInventory, type ParsedAnsibleInventory } from "../init/ansible/parse.js";
import { importAnsible } from "../init/ansible/import.js";
import { formatImportReport } from "../init/ansible/report.js";
import type { Asker } from "../init/asker.js";
import { settleDraft } from "../init/draft-check.js";
import { emptyDraft, nodes } from "../init/draft.js";
import { extraVaultValues, inventoryData, planVault } from "../init/draft-vault.js";
import { applyNodes, applySets } from "../init/flags.js";
import { InteractiveAsker } from "../init/interactive-asker.js";
import { renderInventory } from "../init/render-inventory.js";
import { ScriptedAsker } from "../init/scripted-asker.js";
import { vaultValues } from "../init/secret-names.js";
import { fillDraft } from "../init/wizard.js";
import {
  confirmReplacements,
  verifyWritten,
  writeInventoryFile,
  writeVaultFile,
} from "../init/write-files.js";
import { Output } from "../ui/output.js";
import { Redactor } from "../ui/redact.js";
import { newVaultPassword, PASSWORD_ENV } from "../vault/password.js";
import { secretReferences } from "../inventory/load.js";
import type { GlobalOptions } from "./options.js";

interface InitOptions {
  fromAnsible?: string;
  ansibleVault?: string;
  defaults?: boolean;
  output: string;
  vault: string;
  node: string[];
  set: string[];
}

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  // `-i` names the inventory for every command; init writes there unless --output says otherwise.
  const o = { output: opts.inventory, ...cmd.opts<Partial<InitOptions>>() } as InitOptions;
  const out = new Output(new Redactor(), opts.json);
  const say = (line: string) => out.info(line);
  const interactive = !o.defaults;
  if (interactive && !process.stdin.isTTY) {
    throw new InputError(
      "powerstack init asks questions, and there is no terminal to ask them on",
      "run it in a terminal, or pass --defaults with --node/--set (and the POWERSTACK_* secret variables); see `powerstack init --help`",
    );
  }
  const asker: Asker = interactive ? new InteractiveAsker(say) : new ScriptedAsker(say);
  try {
    return await init(opts, o, asker, out);
  } catch (err) {
    // Ctrl-C at a prompt: leave quietly and say that nothing changed.
    if (err instanceof Error && (err.name === "ExitPromptError" || err.name === "AbortPromptError")) {
      throw new PowerstackError("init cancelled; nothing was written", ExitCode.failed);
    }
    throw err;
  }
}

async function init(opts: GlobalOptions, o: InitOptions, asker: Asker, out: Output): Promise<number> {
  const say = (line: string) => out.info(line);
  const inventoryPath = resolve(o.output);
  const vaultPath = resolve(o.vault);
  if (o.ansibleVault && !o.fromAnsible) {
    throw new InputError(
      "--ansible-vault reads the vault of an imported Ansible inventory",
      "pass --from-ansible <inventory> with it",
    );
  }
  let parsed: ParsedAnsibleInventory | undefined;
  let choice: VaultChoice = {};
  if (o.fromAnsible) {
    parsed = readAnsibleInventory(o.fromAnsible);
    choice = await chooseAnsibleVault(parsed, o.ansibleVault, asker, opts.vaultPasswordFile);
  }
  const files = [{ path: inventoryPath, shown: o.output, flag: "--output" }];
  const ownVault = { path: vaultPath, shown: o.vault, flag: "--vault" };
  // With the Ansible vault read, init may write no vault of its own: asked about once that is known.
  const replace = await confirmReplacements(choice.vault ? files : [...files, ownVault], asker, opts.yes);

  const draft = emptyDraft();
  if (parsed) {
    const report = importAnsible(parsed, draft, { vault: choice.vault, vaultUnread: choice.unread });
    if (choice.vault) draft.ansibleVault = resolve(choice.vault.file);
    for (const line of formatImportReport(report, nodes(draft), asker.interactive)) say(line);
  }
  applyNodes(draft, o.node ?? []);
  applySets(draft, o.set ?? []);

  await fillDraft(draft, asker);
  // Paths inside the inventory are relative to it, so the pair can move together.
  const vaultRef = relative(dirname(inventoryPath), vaultPath);
  const plan = planVault(draft, inventoryPath, vaultRef);
  if (asker instanceof ScriptedAsker) {
    if (plan.mode === "write" && !opts.vaultPasswordFile && !process.env[PASSWORD_ENV]) {
      asker.missing("vault password", `pass --vault-password-file <file> or set ${PASSWORD_ENV}`);
    }
    asker.finish();
  }
  // settleDraft may change answers, never secrets: the plan stands.
  await settleDraft(draft, asker, inventoryPath, vaultRef);
  if (plan.mode === "write" && choice.vault) {
    for (const p of await confirmReplacements([ownVault], asker, opts.yes)) replace.add(p);
  }

  const password =
    plan.mode === "reference"
      ? choice.password!
      : await newVaultPassword({ file: opts.vaultPasswordFile, purpose: `for ${o.vault}` });
  // Secret values are not registered with the Redactor: nothing printed here derives from them, and a
  // short password (say `bmc`) would mask the vault key names listed below.
  const data = inventoryData(draft, plan);
  const values =
    plan.mode === "write" ? { ...vaultValues(draft, data), ...extraVaultValues(draft, data) } : {};
  const text = renderInventory(data, [
    "powerstack inventory: the whole cluster in one file.",
    `Written by \`powerstack init\`${o.fromAnsible ? ` from ${o.fromAnsible}` : ""}. Check it with: powerstack up --check -i ${o.output}`,
    plan.mode === "reference"
      ? "Every `*_secret` key names a value of the Ansible vault (vault_file) by its dotted path; secret values never go here."
      : "Every `*_secret` key names an entry of the encrypted vault (vault_file); secret values never go here.",
  ]);

  if (plan.mode === "write") await writeVaultFile(vaultPath, password, values, replace.has(vaultPath));
  await writeInventoryFile(inventoryPath, text, replace.has(inventoryPath));
  const inventory = await verifyWritten(inventoryPath, password);

  say(`Wrote ${o.output}: ${inventory.nodes.map((n) => `${n.name} (${n.role})`).join(", ")}`);
  let secrets: string[];
  if (plan.mode === "reference") {
    secrets = [...new Set(secretReferences(inventory).map((r) => r.secret))].filter((s) =>
      [...draft.vaultRefs.values()].includes(s),
    );
    const token =
      draft.secrets.k3sToken === undefined
        ? `; it holds no K3s token, so \`up\` will generate one and add it there as \`${inventory.cluster.k3s.tokenSecret}\``
        : "";
    say(
      `Vault: ${choice.vault!.file}, the Ansible vault, left untouched: the inventory refers to ${secrets.length} of its values by dotted path: ${secrets.join(", ")}${token}`,
    );
  } else {
    secrets = Object.keys(values);
    const generated = draft.secrets.k3sToken === undefined ? " (K3s token generated)" : "";
    say(`Wrote ${o.vault}: encrypted, ${secrets.length} secret(s): ${secrets.join(", ")}${generated}`);
    if (plan.why) say(`Not by reference to ${choice.vault?.file}: ${plan.why}`);
  }
  say(`Checked: ${o.output} passes the inventory validation and its vault opens with the password.`);
  say(`Next: powerstack up --check -i ${o.output}`);
  out.object({
    event: "init",
    inventory: inventoryPath,
    vault: inventory.vaultFile,
    vaultMode: plan.mode,
    nodes: inventory.nodes.map((n) => n.name),
    secrets,
  });
  return ExitCode.ok;
}

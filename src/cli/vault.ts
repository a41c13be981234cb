/**
 * `powerstack vault create|view|edit|encrypt|decrypt|rekey [file]`: ansible-vault's commands on the
 * same file format. A vault file is only ever replaced whole (atomically, mode 0600), and only after
 * the password checked out, so a wrong password or a failed editor leaves it byte-identical.
 */
import { lstat, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { ParsedCommand } from "./argv.js";
import { ExitCode, InputError, PowerstackError, describeError } from "../errors.js";
import { Output } from "../ui/output.js";
import { Redactor } from "../ui/redact.js";
import { ChangedMeanwhileError, writeFileAtomic } from "../vault/atomic-write.js";
import { parseVaultContents } from "../vault/contents.js";
import { editInEditor } from "../vault/editor.js";
import {
  checkVaultId,
  decryptVault,
  encryptVault,
  isVaultText,
  type DecryptedVault,
} from "../vault/format.js";
import { getVaultPassword, newVaultPassword, NEW_PASSWORD_ENV, PASSWORD_ENV } from "../vault/password.js";
import type { GlobalOptions } from "./options.js";

interface VaultFlags {
  vaultId?: string;
  newVaultPasswordFile?: string;
  output?: string;
}

interface Ctx {
  file: string;
  flags: VaultFlags;
  opts: GlobalOptions;
  out: Output;
  redactor: Redactor;
}

const ACTIONS = ["create", "view", "edit", "encrypt", "decrypt", "rekey"] as const;
type Action = (typeof ACTIONS)[number];

/** Shown in the editor of `create`; left unchanged, nothing is written. */
export const CREATE_TEMPLATE = `# powerstack vault: one secret per line, as \`key: value\` (YAML; quote values with special characters).
# Keys the inventory refers to by default: grafana_admin_password, k3s_token, bmc_password, slack_webhook.
# Values may be nested (\`ansible_vault:\` then \`  token: ...\`); the inventory names them by path: ansible_vault.token.
# Lines starting with # are comments and are kept.
`;

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  // processedArgs, not args: it carries the [file] default.
  const [action, file] = cmd.args as [string, string];
  const flags = cmd.opts<VaultFlags>();
  if (!ACTIONS.includes(action as Action)) {
    throw new InputError(`unknown vault action "${action}"`, `use one of: ${ACTIONS.join(", ")}`);
  }
  if (flags.vaultId !== undefined) {
    if (!["create", "encrypt", "rekey"].includes(action)) {
      throw new InputError(
        `--vault-id does not apply to \`vault ${action}\``,
        "use it with create, encrypt or rekey (edit keeps the file's own id)",
      );
    }
    checkVaultId(flags.vaultId);
  }
  if (flags.output !== undefined && action !== "encrypt" && action !== "decrypt") {
    throw new InputError(`--output does not apply to \`vault ${action}\``, "use it with encrypt or decrypt");
  }
  if (flags.newVaultPasswordFile !== undefined && action !== "rekey") {
    throw new InputError(
      `--new-vault-password-file does not apply to \`vault ${action}\``,
      "use it with rekey",
    );
  }

  const redactor = new Redactor();
  const ctx: Ctx = { file, flags, opts, out: new Output(redactor, opts.json), redactor };
  switch (action as Action) {
    case "create":
      return create(ctx);
    case "view":
      return view(ctx);
    case "edit":
      return edit(ctx);
    case "encrypt":
      return encrypt(ctx);
    case "decrypt":
      return decrypt(ctx);
    case "rekey":
      return rekey(ctx);
  }
}

async function create(ctx: Ctx): Promise<number> {
  const { file } = ctx;
  if (await exists(file)) {
    throw new InputError(
      `${file} already exists; refusing to overwrite it`,
      `change it with \`powerstack vault edit ${file}\``,
    );
  }
  const password = await passwordForNewVault(ctx);
  const text = await editUntilValid(CREATE_TEMPLATE, file, "nothing was written");
  if (text === CREATE_TEMPLATE || text.trim() === "") {
    throw new InputError(
      `${file} was not created: nothing was written in the editor`,
      "add at least one `key: value` line and save",
    );
  }
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, encryptVault(text, password, { vaultId: ctx.flags.vaultId }), {
    noClobber: true,
  });
  return done(
    ctx,
    "create",
    true,
    `${file}: created, encrypted${ctx.flags.vaultId ? ` with vault id ${ctx.flags.vaultId}` : ""}`,
  );
}

async function view(ctx: Ctx): Promise<number> {
  const { plaintext } = await openVault(ctx);
  if (ctx.opts.json) ctx.out.object({ action: "view", file: ctx.file, plaintext });
  else process.stdout.write(plaintext);
  return ExitCode.ok;
}

async function edit(ctx: Ctx): Promise<number> {
  const { file } = ctx;
  const opened = await openVault(ctx);
  const edited = await editUntilValid(opened.plaintext, file, "the vault was left as it was");
  if (edited === opened.plaintext) return done(ctx, "edit", false, `${file}: no changes`);
  // The header's version and vault id stay what they were, as with ansible-vault edit.
  const encrypted = encryptVault(edited, opened.password, { vaultId: headerId(opened) });
  try {
    // Only over the very bytes that were opened: a `rekey`, another edit or a token stored by `up` while the
    // editor was open must not be undone silently.
    await writeFileAtomic(file, encrypted, { unchangedSince: opened.text });
  } catch (err) {
    if (!(err instanceof ChangedMeanwhileError)) throw err;
    const kept = await keepEdit(file, encrypted);
    throw new PowerstackError(
      `${file} changed while the editor was open (a \`vault rekey\`, another edit, or \`up\` storing a token); your edit was not saved over it`,
      ExitCode.failed,
      `your edit is kept in ${kept} (mode 0600, encrypted with the password you opened ${file} with): see it with \`powerstack vault view ${kept}\`, make the change again with \`powerstack vault edit ${file}\`, then remove ${kept}`,
    );
  }
  return done(ctx, "edit", true, `${file}: saved`);
}

/** An edit that could not be saved, next to the vault: `<file>.unsaved-<UTC time>`, 0600, never clobbering. */
async function keepEdit(file: string, encrypted: string): Promise<string> {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  for (let i = 0; ; i++) {
    const kept = `${file}.unsaved-${stamp}${i === 0 ? "" : `-${i}`}`;
    try {
      await writeFileAtomic(kept, encrypted, { noClobber: true });
      return kept;
    } catch (err) {
      if (i < 20 && err instanceof InputError && /already exists/.test(err.message)) continue;
      throw err;
    }
  }
}

async function encrypt(ctx: Ctx): Promise<number> {
  const { file } = ctx;
  const plaintext = await readText(file);
  if (isVaultText(plaintext))
    throw new InputError(`${file} is already encrypted`, `change it with \`powerstack vault edit ${file}\``);
  // Checked before a password is asked: a powerstack vault that `up` cannot read is a mistake to catch now.
  parseVaultContents(plaintext, file);
  const password = await passwordForNewVault(ctx);
  const target = ctx.flags.output ?? file;
  await writeOut(target, encryptVault(plaintext, password, { vaultId: ctx.flags.vaultId }));
  return done(ctx, "encrypt", true, `${file}: encrypted${target !== file ? ` to ${target}` : ""}`);
}

async function decrypt(ctx: Ctx): Promise<number> {
  const { file } = ctx;
  const { plaintext } = await openVault(ctx);
  const target = ctx.flags.output ?? file;
  await writeOut(target, plaintext);
  return done(ctx, "decrypt", true, `${file}: decrypted${target !== file ? ` to ${target}` : ""}`);
}

async function rekey(ctx: Ctx): Promise<number> {
  const { file } = ctx;
  const opened = await openVault(ctx);
  const password = await newVaultPassword({
    file: ctx.flags.newVaultPasswordFile,
    envVar: NEW_PASSWORD_ENV,
    fileFlag: "--new-vault-password-file",
    purpose: `for ${file}`,
  });
  ctx.redactor.add(password);
  const vaultId = ctx.flags.vaultId ?? headerId(opened);
  await writeFileAtomic(file, encryptVault(opened.plaintext, password, { vaultId }), {
    unchangedSince: opened.text,
  });
  return done(ctx, "rekey", true, `${file}: rekeyed${vaultId ? ` (vault id ${vaultId})` : ""}`);
}

/** Read and decrypt `ctx.file`, asking for its password only once it is known to be a vault. */
async function openVault(ctx: Ctx): Promise<DecryptedVault & { password: string; text: string }> {
  const text = await readText(ctx.file);
  if (!isVaultText(text)) {
    throw new InputError(
      `${ctx.file} is not encrypted (no $ANSIBLE_VAULT header)`,
      `encrypt it with \`powerstack vault encrypt ${ctx.file}\``,
    );
  }
  const password = await getVaultPassword({ file: ctx.opts.vaultPasswordFile, purpose: `for ${ctx.file}` });
  ctx.redactor.add(password);
  return { ...decryptVault(text, password, ctx.file), password, text };
}

/** create/encrypt: a given password (file, env) is used as is; a typed one is asked twice. */
async function passwordForNewVault(ctx: Ctx): Promise<string> {
  const given = ctx.opts.vaultPasswordFile !== undefined || Boolean(process.env[PASSWORD_ENV]);
  const password = given
    ? await getVaultPassword({ file: ctx.opts.vaultPasswordFile, purpose: `for ${ctx.file}` })
    : await newVaultPassword({ purpose: `for ${ctx.file}` });
  ctx.redactor.add(password);
  return password;
}

/**
 * Edit until the text is a valid vault or the user gives up. Invalid YAML reopens the editor on a
 * terminal (the edits are not lost); without one it is an error and the vault stays as it was.
 */
function editUntilValid(text: string, file: string, untouched: string): Promise<string> {
  const reopen = async (edited: string): Promise<string | undefined> => {
    if (edited === text) return undefined;
    try {
      parseVaultContents(edited, `${file} (edited)`);
      return undefined;
    } catch (err) {
      if (!(err instanceof PowerstackError) || !process.stdin.isTTY) {
        throw err instanceof PowerstackError ? new InputError(`${err.message}; ${untouched}`, err.fix) : err;
      }
      process.stderr.write(`powerstack: ${describeError(err)}\n`);
      const { confirm } = await import("@inquirer/prompts");
      const again = await confirm(
        { message: "Edit again? (no discards your changes)", default: true },
        { output: process.stderr },
      );
      if (!again) throw new InputError(`${file}: changes discarded; ${untouched}`);
      return edited;
    }
  };
  return editInEditor(text, file, { reopen, untouched });
}

/** The id to write back: only a 1.2 header has one worth keeping. */
function headerId(opened: DecryptedVault): string | undefined {
  return opened.version === "1.2" ? opened.vaultId : undefined;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new InputError(`${file} does not exist`, "check the file name (the default is vault/vault.yaml)");
    throw new InputError(
      `cannot read ${file}: ${code ?? (err as Error).message}`,
      "check the path and its permissions",
    );
  }
}

/** `-` is stdout, as with ansible-vault's --output; anything else is replaced atomically, mode 0600. */
async function writeOut(target: string, data: string): Promise<void> {
  if (target === "-") process.stdout.write(data);
  else await writeFileAtomic(target, data);
}

function done(ctx: Ctx, action: Action, changed: boolean, line: string): number {
  if (ctx.opts.json) ctx.out.object({ action, file: ctx.file, changed });
  // stderr, like ansible-vault's "Encryption successful": stdout may be carrying the vault itself.
  else process.stderr.write(ctx.redactor.redact(line) + "\n");
  return ExitCode.ok;
}

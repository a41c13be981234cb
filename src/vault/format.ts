/**
 * The ansible-vault file format, versions 1.1 and 1.2 with the AES256 cipher, byte-compatible with
 * ansible-core's `lib/ansible/parsing/vault/__init__.py` (VaultLib, VaultAES256):
 *
 *   $ANSIBLE_VAULT;1.1;AES256            (or $ANSIBLE_VAULT;1.2;AES256;<vault id>)
 *   hex( hex(salt) "\n" hex(hmac) "\n" hex(ciphertext) ), wrapped at 80 columns, newline-terminated
 *
 * Keys: PBKDF2-HMAC-SHA256(password, 32-byte random salt, 10000 iterations) -> 80 bytes split into an
 * AES-256 key, an HMAC-SHA256 key and a 16-byte CTR counter block. The plaintext is PKCS#7-padded even
 * though CTR needs no padding: ansible does it, and dropping it would break compatibility.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { InputError } from "../errors.js";
import { mark } from "../timing.js";

/** A vault file that cannot be read: bad header, corrupt body, wrong password. Exit code 2. */
export class VaultError extends InputError {}

export type VaultVersion = "1.1" | "1.2";

export interface DecryptedVault {
  plaintext: string;
  /** The label of a 1.2 header; ansible uses it only to pick a password, it is not authenticated. */
  vaultId?: string;
  version: VaultVersion;
}

const MAGIC = "$ANSIBLE_VAULT";
const CIPHER = "AES256";
const ITERATIONS = 10_000;
const SALT_BYTES = 32;
const KEY_BYTES = 32;
const IV_BYTES = 16;
const HMAC_BYTES = 32;
const BLOCK = 16;
const COLUMNS = 80;
const HEX = /^[0-9a-fA-F]*$/;

/** True when `text` starts like a vault file (ansible's `is_encrypted`; leading blanks or a BOM tolerated). */
export function isVaultText(text: string): boolean {
  return text.trimStart().startsWith(MAGIC);
}

/**
 * A vault id goes into a `;`-separated header line, so it can hold neither `;` nor whitespace.
 * Throws an InputError naming the bad id.
 */
export function checkVaultId(vaultId: string): void {
  if (vaultId === "" || /[;\s]/.test(vaultId)) {
    throw new InputError(
      `invalid vault id ${JSON.stringify(vaultId)}: it goes into the file's header line`,
      "use a short label without `;` or spaces, e.g. `prod`",
    );
  }
}

export function encryptVault(plaintext: string, password: string, opts: { vaultId?: string } = {}): string {
  if (password === "")
    throw new VaultError("refusing to encrypt with an empty vault password", "choose a non-empty password");
  const { vaultId } = opts;
  if (vaultId !== undefined) checkVaultId(vaultId);

  const salt = randomBytes(SALT_BYTES);
  const { aesKey, hmacKey, iv } = deriveKeys(password, salt);
  const cipher = createCipheriv("aes-256-ctr", aesKey, iv);
  const ciphertext = Buffer.concat([cipher.update(pad(Buffer.from(plaintext, "utf8"))), cipher.final()]);
  const hmac = createHmac("sha256", hmacKey).update(ciphertext).digest();

  const inner = [salt.toString("hex"), hmac.toString("hex"), ciphertext.toString("hex")].join("\n");
  const body = Buffer.from(inner, "ascii").toString("hex");

  // Like ansible's format_vaulttext_envelope: the id `default` is the same as no id, and keeps 1.1.
  const header =
    vaultId !== undefined && vaultId !== "default"
      ? `${MAGIC};1.2;${CIPHER};${vaultId}`
      : `${MAGIC};1.1;${CIPHER}`;
  const lines = [header];
  for (let i = 0; i < body.length; i += COLUMNS) lines.push(body.slice(i, i + COLUMNS));
  return lines.join("\n") + "\n";
}

/**
 * Decrypt vault text. `source` (a file name) starts every error message, so a user with several vault
 * files knows which one is wrong. The password is checked (HMAC) before anything is decrypted.
 */
export function decryptVault(text: string, password: string, source = "vault data"): DecryptedVault {
  const fail = (cause: string, fix?: string) => new VaultError(`${source}: ${cause}`, fix);

  const lines = text.trimStart().split(/\r?\n/);
  const headerLine = (lines[0] ?? "").trim();
  if (!isVaultText(headerLine)) {
    throw fail(
      `not an ansible-vault file (its first line is not a \`${MAGIC};1.1;${CIPHER}\` header)`,
      "encrypt it with `powerstack vault encrypt`, or check that you named the right file",
    );
  }
  const header = headerLine.split(";").map((part) => part.trim());
  const version = header[1];
  if (version !== "1.1" && version !== "1.2") {
    throw fail(
      `unsupported ansible-vault format version ${JSON.stringify(version ?? "")} (powerstack reads 1.1 and 1.2)`,
      "rekey it with a current `ansible-vault rekey`, which writes 1.1/1.2",
    );
  }
  if (header[2] !== CIPHER) {
    throw fail(
      `unsupported vault cipher ${JSON.stringify(header[2] ?? "")} (only ${CIPHER} is supported)`,
      "rekey it with `ansible-vault rekey`",
    );
  }
  const vaultId = version === "1.2" && header[3] ? header[3] : undefined;

  const { salt, hmac, ciphertext } = parseBody(lines.slice(1), fail);
  const { aesKey, hmacKey, iv } = deriveKeys(password, salt);
  const expected = createHmac("sha256", hmacKey).update(ciphertext).digest();
  if (!timingSafeEqual(expected, hmac)) {
    // No `fix`: the message is the whole story, and it stays one line.
    throw fail("wrong vault password, or the file was modified (HMAC mismatch)");
  }

  const decipher = createDecipheriv("aes-256-ctr", aesKey, iv);
  const padded = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  const bytes = unpad(padded);
  if (!bytes)
    throw fail("corrupt vault body (bad padding after a valid HMAC: the writer was not ansible-compatible)");

  let plaintext: string;
  try {
    plaintext = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw fail(
      "the decrypted content is not UTF-8 text (a binary file?)",
      "use `ansible-vault` for binary files",
    );
  }
  return { plaintext, vaultId, version };
}

function parseBody(
  bodyLines: string[],
  fail: (cause: string, fix?: string) => VaultError,
): { salt: Buffer; hmac: Buffer; ciphertext: Buffer } {
  const truncated = (what: string) =>
    fail(`truncated or corrupt vault body (${what})`, "restore the file from version control or a backup");

  const body = bodyLines.map((l) => l.trim()).join("");
  if (body === "") throw truncated("nothing after the header");
  if (!HEX.test(body)) throw truncated("it holds characters other than hex digits");
  if (body.length % 2 !== 0) throw truncated("an odd number of hex digits");

  const parts = Buffer.from(body, "hex").toString("latin1").split("\n");
  if (parts.length !== 3) throw truncated("salt, HMAC and ciphertext are not all there");
  const [saltHex, hmacHex, ctHex] = parts as [string, string, string];
  if (saltHex === "" || !HEX.test(saltHex) || saltHex.length % 2 !== 0) throw truncated("bad salt");
  if (hmacHex.length !== HMAC_BYTES * 2 || !HEX.test(hmacHex)) throw truncated("bad HMAC");
  if (ctHex === "" || !HEX.test(ctHex) || ctHex.length % (BLOCK * 2) !== 0)
    throw truncated("the ciphertext is cut short");
  return {
    salt: Buffer.from(saltHex, "hex"),
    hmac: Buffer.from(hmacHex, "hex"),
    ciphertext: Buffer.from(ctHex, "hex"),
  };
}

function deriveKeys(password: string, salt: Buffer): { aesKey: Buffer; hmacKey: Buffer; iv: Buffer } {
  mark("vault:kdf:start");
  const derived = pbkdf2Sync(
    Buffer.from(password, "utf8"),
    salt,
    ITERATIONS,
    2 * KEY_BYTES + IV_BYTES,
    "sha256",
  );
  mark("vault:kdf:end");
  return {
    aesKey: derived.subarray(0, KEY_BYTES),
    hmacKey: derived.subarray(KEY_BYTES, 2 * KEY_BYTES),
    iv: derived.subarray(2 * KEY_BYTES),
  };
}

function pad(data: Buffer): Buffer {
  const n = BLOCK - (data.length % BLOCK);
  return Buffer.concat([data, Buffer.alloc(n, n)]);
}

/** Undo PKCS#7; undefined when the padding is not valid. */
function unpad(data: Buffer): Buffer | undefined {
  const n = data[data.length - 1];
  if (n === undefined || n < 1 || n > BLOCK || n > data.length) return undefined;
  for (let i = data.length - n; i < data.length; i++) if (data[i] !== n) return undefined;
  return data.subarray(0, data.length - n);
}

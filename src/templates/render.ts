/**
 * Handlebars templates from `templates/`, rendered strictly: a template that names a value the context
 * lacks fails at render time, naming the template and the key, before anything is sent to a host.
 * No HTML escaping (these are config files); `{{json x}}` writes a safely quoted YAML/JSON scalar.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";
import { InputError } from "../errors.js";
import { packageRoot } from "../package-root.js";

const hbs = Handlebars.create();
hbs.registerHelper("json", (v: unknown) => JSON.stringify(v));
hbs.registerHelper("indent", (n: number, text: string) =>
  String(text).replace(/\n(?!$)/g, "\n" + " ".repeat(n)),
);

const cache = new Map<string, HandlebarsTemplateDelegate>();

export function templatePath(name: string): string {
  return join(packageRoot(), "templates", name);
}

export function renderTemplate(name: string, context: object): string {
  let compiled = cache.get(name);
  if (!compiled) {
    compiled = hbs.compile(readFileSync(templatePath(name), "utf8"), { strict: true, noEscape: true });
    cache.set(name, compiled);
  }
  try {
    return compiled(context);
  } catch (err) {
    // Handlebars says: `"token" not defined in [object Object] - 7:7`.
    const m = /"([^"]+)" not defined in .* - (\d+):(\d+)/.exec((err as Error).message);
    if (m)
      throw new InputError(
        `template ${name}:${m[2]}:${Number(m[3]) + 1}: value \`${m[1]}\` is missing`,
        "set it in the inventory (or the vault, for a secret)",
      );
    throw new InputError(`template ${name}: ${(err as Error).message}`);
  }
}

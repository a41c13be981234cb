/** One yes/no question on the terminal (stderr, so --json stdout stays clean); Ctrl-C at the prompt is a "no". */
export async function confirmOnTerminal(message: string): Promise<boolean> {
  const { confirm } = await import("@inquirer/prompts");
  try {
    return await confirm({ message, default: false }, { output: process.stderr });
  } catch (err) {
    if (err instanceof Error && (err.name === "ExitPromptError" || err.name === "AbortPromptError"))
      return false;
    throw err;
  }
}

/**
 * Stopping what a command left running on a node. sshd starts every command in a session of its own
 * (setsid in its child), so the login shell's pid, which the command line reports first, names that
 * session. Killing by process group is not enough: `timeout` (every command with a time limit) moves
 * itself and its child into a group of its own. The session survives that, so we signal every process whose
 * session is this one, found in /proc (POSIX sh only: minimal images have no procps).
 */

/** Written by the command line before anything else, on stderr: `powerstack-session <pid>`. */
export const SESSION_MARKER = "powerstack-session";

/** The prefix that makes a command report its session; `$$` is the login shell, the session's leader. */
export function reportSession(line: string): string {
  return `echo "${SESSION_MARKER} $$" >&2; ${line}`;
}

/**
 * Take the marker line off the front of a command's stderr. Returns undefined until the first line is
 * complete; then the session id (or undefined if the command did not start with the marker) and the rest.
 */
export function splitSessionLine(stderr: string): { session?: number; rest: string } | undefined {
  const nl = stderr.indexOf("\n");
  if (nl < 0) return undefined;
  const m = new RegExp(`^${SESSION_MARKER} (\\d+)$`).exec(stderr.slice(0, nl));
  return m ? { session: Number(m[1]), rest: stderr.slice(nl + 1) } : { rest: stderr };
}

/** A shell command that sends `signal` to every process in the given sessions (not to itself). */
export function killSessionsCommand(sessions: readonly number[], signal: "TERM" | "KILL"): string {
  const wanted = sessions.map((s) => String(Math.trunc(s))).join("|");
  // Field 6 of /proc/PID/stat is the session; the command name (field 2) may hold spaces, so the fields
  // are read after its closing parenthesis: state ppid pgrp session.
  return [
    "pids=''",
    "for f in /proc/[0-9]*/stat; do",
    '  read -r l < "$f" 2>/dev/null || continue',
    "  set -- ${l##*) }",
    `  case "$4" in ${wanted}) p=\${f#/proc/}; pids="$pids \${p%/stat}";; esac`,
    "done",
    `[ -z "$pids" ] || kill -${signal} $pids 2>/dev/null`,
    "true",
  ].join("\n");
}

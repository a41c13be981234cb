/**
 * Every command and flag of the CLI, declared once: argv.ts parses against this table, help.ts prints it.
 * Each command's code is imported only when that command runs, so `powerstack --help` loads this file,
 * the parser and nothing else.
 */
import { InputError } from "../errors.js";
import { opt, type OptionSpec, type ProgramSpec } from "./argv.js";

function positiveInt(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 1)
    throw new InputError(`--forks must be a whole number ≥ 1, got "${value}"`, "e.g. --forks 20");
  return n;
}

/**
 * A comma-separated list flag that must name something: `--limit ""` (an unset variable) would
 * otherwise mean "no limit", i.e. every node, and `--limit ,` a run on nothing that exits 0. An empty
 * entry (`ctl,`, `ctl,,w1`) is refused too: it is how an empty variable in `--limit "$A,$B"` shows.
 * The text is kept as typed; the command splits it.
 */
function nonEmptyList(
  flag: string,
  names: { what: string; which: string; example: string; means: string; omit: string },
) {
  return (value: string): string => {
    const items = value.split(",").map((s) => s.trim());
    if (items.every((s) => s === ""))
      throw new InputError(
        `--${flag} ${JSON.stringify(value)} names no ${names.what}: an empty --${flag} is refused, not taken as ${names.means}`,
        `name ${names.which}, e.g. --${flag} ${names.example}; ${names.omit}, leave --${flag} out`,
      );
    if (items.some((s) => s === ""))
      throw new InputError(
        `--${flag} ${JSON.stringify(value)} has an empty entry (a stray comma, or an empty variable?)`,
        `e.g. --${flag} ${names.example}`,
      );
    return value;
  };
}
const hostList = nonEmptyList("limit", {
  what: "node or group",
  which: "nodes or groups (all, control, workers)",
  example: "ctl,workers",
  means: "every node",
  omit: "to run on every node",
});
const roleList = (flag: "only" | "skip") =>
  nonEmptyList(flag, {
    what: "role",
    which: "roles",
    example: "kernel,storage",
    means: flag === "only" ? "every role" : "skipping nothing",
    omit: flag === "only" ? "to run every role" : "to skip nothing",
  });

const GLOBALS: OptionSpec[] = [
  opt("-i, --inventory <file>", "inventory file", {
    default: process.env.POWERSTACK_INVENTORY ?? "inventory/inventory.yaml",
  }),
  opt(
    "--limit <hosts|groups>",
    "only these nodes or groups (comma-separated: node names, all, control, workers)",
    { parse: hostList },
  ),
  opt("--check", "probe and plan only: report what would change, change nothing"),
  opt("--diff", "show each change (files as unified diffs)"),
  opt("--json", "machine-readable output: one JSON object per line on stdout"),
  opt("-v, --verbose", "more detail (repeat for more)", { counted: true }),
  opt("--forks <n>", "hosts worked on in parallel", { default: 10, parse: positiveInt }),
  opt(
    "--vault-password-file <file>",
    "read the vault password from this file (or set POWERSTACK_VAULT_PASSWORD)",
  ),
  opt("--yes", "do not ask for confirmation"),
  opt("--log-dir <dir>", "directory for run logs", { default: process.env.POWERSTACK_LOG_DIR ?? "logs" }),
];

/** Where energy and measure find Prometheus and how they price what it says. */
const PROMETHEUS: OptionSpec[] = [
  opt(
    "--prometheus <url>",
    "Prometheus URL (default: the control node's NodePort); no inventory needed with it",
  ),
  opt(
    "--kepler <flavour>",
    "Kepler line: current, legacy, or auto (the default: detected per node from the series Prometheus holds)",
    { choices: ["current", "legacy", "auto"] },
  ),
  opt(
    "--grid-intensity <gPerKwh>",
    "grid carbon intensity in gCO2e/kWh (default: the inventory's, else 475, IEA 2019 world average)",
  ),
];

/** `power idle` reads one named line: detection (`auto`) is for energy and measure only. */
const KEPLER_NAMED = opt(
  "--kepler <flavour>",
  "Kepler line (default: the inventory's cluster.kepler.flavour)",
  {
    choices: ["current", "legacy"],
  },
);

const GROUP_BY = ["node", "namespace", "pod"] as const;

/** Pipeline steps (issue 21): record a step into a report, render a report, gate it. */
const MEASURE_STEPS: OptionSpec[] = [
  opt("--step <name>", "record the command as this pipeline step (with --report)"),
  opt("--report <file>", "append the step to this report file (JSON Lines; safe for parallel jobs)"),
  opt(
    "--kepler-interval <duration>",
    "Kepler's sampling interval: a shorter step is too short to measure (default: 5s current, 3s legacy)",
  ),
  opt("--format <format>", "measure report: text, markdown, openmetrics or junit", {
    choices: ["text", "markdown", "openmetrics", "junit"],
    default: "text",
  }),
  opt("--baseline <file>", "gate: an earlier report to compare each step with (with --max-increase)"),
  opt(
    "--max-increase <percent>",
    "gate: fail a step more than this above its baseline, e.g. 10% or build=10% (repeatable)",
    {
      repeatable: true,
    },
  ),
  opt("--budget <energy>", "gate: fail a step above this energy, e.g. 50kJ or test=20kJ (repeatable)", {
    repeatable: true,
  }),
];

const MEASURE_HELP =
  "\nPipeline steps: `powerstack measure --step build --report energy.jsonl -- make` appends the step's energy\n" +
  "(per node and namespace above the idle baseline, platform power, CO2e, exit code, duration) as one JSON line;\n" +
  "parallel jobs may append to one file. `powerstack measure report energy.jsonl [more.jsonl...]` prints every\n" +
  "step and the total (--format markdown for a job summary, openmetrics for GitLab metrics, junit for test\n" +
  "reports). Gate: --budget 50kJ, or --baseline main.jsonl --max-increase 10%: exit 1 and one line per step over\n" +
  "its limit. A step's command exit code passes through (a failing command wins over the gate).\n";

export const PROGRAM: ProgramSpec = {
  name: "powerstack",
  version: "0.1.0",
  description: "Stand up an energy-measured K3s cluster on bare metal, idempotently.",
  globals: GLOBALS,
  commands: [
    {
      name: "up",
      description: "provision every node and the stack; a rerun changes nothing",
      ownRunLog: true,
      honors: ["check", "limit", "diff"],
      options: [
        opt("--only <roles>", "run only these roles (comma-separated)", { parse: roleList("only") }),
        opt("--skip <roles>", "skip these roles (comma-separated)", { parse: roleList("skip") }),
        opt(
          "--allow-format <disk>",
          "allow formatting this disk even though it holds a filesystem or partition table",
        ),
        opt("--playbook <file>", "run this playbook instead of the built-in playbooks/up.yaml"),
      ],
      load: () => import("./up.js"),
    },
    {
      name: "verify",
      description: "prove the cluster works: every check of the checklist, automated",
      ownRunLog: true,
      options: [
        opt(
          "--prometheus <url>",
          "Prometheus URL (default: the control node's external_ip at cluster.node_ports.prometheus)",
        ),
      ],
      helpAfter:
        "\nNodes over SSH (kernel, storage, NFS, K3s units, an NFS round trip), the cluster through kubectl on the\n" +
        "control node (nodes, pods, volumes), each BMC over Redfish, Kepler in Prometheus, and a Grafana login.\n" +
        "A table, or one JSON object per check and a summary with --json. Exit code: 0 all pass, 1 a check\n" +
        "failed, 3 a node or service could not be reached.\n",
      load: () => import("./verify.js"),
    },
    {
      name: "teardown",
      description: "remove the stack in reverse order, keeping measured data unless --purge-data",
      ownRunLog: true,
      honors: ["check", "limit", "diff"],
      options: [
        opt("--purge-data", "also wipe the data filesystem (Prometheus history, Grafana state)"),
        opt(
          "--only <roles>",
          "run only these teardown roles (comma-separated; `storage` = teardown-storage)",
          { parse: roleList("only") },
        ),
        opt("--skip <roles>", "skip these teardown roles (comma-separated)", { parse: roleList("skip") }),
        opt("--playbook <file>", "run this playbook instead of the built-in playbooks/teardown.yaml"),
      ],
      helpAfter:
        "\nReverse order of up: Helm releases, volumes and namespaces, K3s agents then server (their uninstall\n" +
        "scripts), NFS mounts, the NFS export, the data mount, the sysctl drop-in. The data on the disk stays\n" +
        "unless --purge-data. Asks once before acting unless --yes (without a terminal, --yes is required);\n" +
        "--check lists what would be removed and changes nothing.\n",
      load: () => import("./teardown.js"),
    },
    {
      name: "render",
      description:
        "write every artifact up would send (K3s configs, Helm values, manifests) into a directory",
      args: [
        {
          name: "dir",
          description: "output directory (created; powerstack's own stale files removed)",
          required: true,
        },
      ],
      helpAfter:
        "\nReads the inventory only: no host, cluster or vault is contacted, and secrets appear as <vault:KEY>\n" +
        "placeholders. Layout: nodes/<node>/k3s-config.yaml, releases/<release>/values.yaml (and post-render.sh,\n" +
        "patch.yaml), manifests/*.yaml, and index.json listing them. Rendering twice gives identical files.\n",
      load: () => import("./render.js"),
    },
    {
      name: "init",
      description: "interactive wizard: write an inventory and an encrypted vault",
      options: [
        opt(
          "--from-ansible <inventory>",
          "import an existing Ansible YAML inventory of a K3s cluster; ask only for what it lacks",
        ),
        opt(
          "--ansible-vault <file>",
          "with --from-ansible: the Ansible vault its values refer to ({{ ansible_vault.token }}); read with the vault password, never rewritten (default: offered when one lies beside the inventory)",
        ),
        opt(
          "--defaults",
          "do not prompt: use defaults, flags and POWERSTACK_* variables (for scripts and CI)",
        ),
        opt("--output <file>", "inventory file to write (default: the -i inventory)"),
        opt("--vault <file>", "vault file to write", { default: "vault/vault.yaml" }),
        opt(
          "--node <key=value,...>",
          "a node, e.g. name=node1,role=control,internal_ip=10.0.0.11,storage_disk=/dev/sdb,bmc.address=https://10.0.1.11,bmc.username=admin (repeatable)",
          { repeatable: true },
        ),
        opt(
          "--set <key=value>",
          "any inventory key, e.g. cluster.nfs_network=10.0.0.0/24 or nodes[0].external_ip=192.0.2.11 (repeatable)",
          { repeatable: true },
        ),
      ],
      helpAfter:
        "\nSecrets with --defaults come from the environment: POWERSTACK_GRAFANA_ADMIN_PASSWORD, POWERSTACK_BMC_PASSWORD\n" +
        "(or POWERSTACK_BMC_PASSWORD_<NODE>), POWERSTACK_SLACK_WEBHOOK, POWERSTACK_K3S_TOKEN (unset or `generate`: generated),\n" +
        "POWERSTACK_BECOME_PASSWORD, POWERSTACK_RANCHER_BOOTSTRAP_PASSWORD (with Rancher on); the vault password from\n" +
        "--vault-password-file or POWERSTACK_VAULT_PASSWORD.\n" +
        "An imported Ansible vault opens with the same password sources; when it holds every secret, the inventory\n" +
        "refers to its values in place (token_secret: ansible_vault.token) and no vault is written.\n",
      load: () => import("./init.js"),
    },
    {
      name: "vault",
      description: "manage the encrypted vault (ansible-vault compatible)",
      args: [
        { name: "action", description: "create | view | edit | encrypt | decrypt | rekey", required: true },
        { name: "file", description: "vault file", required: false, default: "vault/vault.yaml" },
      ],
      options: [
        opt("--vault-id <label>", "write a 1.2 header with this vault id"),
        opt("--new-vault-password-file <file>", "rekey: the new password (otherwise prompted)"),
        opt("--output <file>", "encrypt/decrypt: write here instead of in place"),
      ],
      load: () => import("./vault.js"),
    },
    {
      name: "energy",
      description: "energy (J, kWh), average power and CO2 per node, namespace or pod over a window",
      options: [
        opt("--since <duration>", "window ending now, e.g. 1h, 30m, 2d", { default: "1h" }),
        opt("--from <time>", "window start (RFC 3339 or unix seconds)"),
        opt("--to <time>", "window end (RFC 3339 or unix seconds)"),
        opt("--by <what>", "group by", { choices: GROUP_BY, default: "node" }),
        opt("--csv", "CSV output"),
        opt(
          "--plot <file>",
          "also draw power over time and energy per group to this file (.svg or .png, by its extension)",
        ),
        opt(
          "--tz <zone>",
          "time zone of the plot's time axis, an IANA name (default: TZ if it names one, else UTC)",
        ),
        ...PROMETHEUS,
      ],
      load: () => import("./energy.js"),
    },
    {
      name: "measure",
      description: "run a command and report the energy the cluster used while it ran, above idle",
      args: [
        {
          name: "command",
          description: "the command to run, after -- (or `report FILE...`: print a report's steps)",
          required: true,
          variadic: true,
        },
      ],
      options: [
        opt("--by <what>", "group by", { choices: GROUP_BY, default: "namespace" }),
        opt("--csv", "CSV output"),
        opt(
          "--scrape-interval <duration>",
          "how long after the command to wait for the last scrape (default: the inventory's monitoring scrape_interval, else 30s)",
        ),
        ...PROMETHEUS,
        ...MEASURE_STEPS,
      ],
      helpAfter: MEASURE_HELP,
      load: () => import("./measure.js"),
    },
    {
      name: "power",
      description:
        "Redfish power: status of nodes, drain and power off a worker, power on; idle: the idle policy, one pass",
      ownRunLog: true,
      honors: ["check", "limit"],
      args: [
        { name: "action", description: "status | off | on | idle", required: true },
        {
          name: "nodes",
          description: "node names (status: default all, or --limit; off/on: exactly one)",
          required: false,
          variadic: true,
        },
      ],
      options: [
        opt(
          "--drain-timeout <seconds>",
          "off: give up evicting pods after this long (the node is uncordoned again)",
          {
            default: "300",
          },
        ),
        opt(
          "--wait-timeout <seconds>",
          "off/on: bound on reaching the power state (polled until this bound, the last poll at it) and, for on, the node becoming Ready",
        ),
        opt(
          "--idle-for <duration>",
          "idle: how long a worker must have been idle before it is powered off (default: the inventory's cluster.power.idle_for, 30m)",
        ),
        ...PROMETHEUS.filter((o) => o.long !== "grid-intensity" && o.long !== "kepler"),
        KEPLER_NAMED,
      ],
      helpAfter:
        "\n  status: per node the machine behind the BMC (make, model, system id, serial, host name), power\n" +
        "        state and watts, or why there is no reading.\n" +
        "  off: refuses the control node; asks once (on a terminal; otherwise --yes is required), then cordon,\n" +
        "       drain, Redfish GracefulShutdown, wait for Off. If it does not reach Off the node stays cordoned\n" +
        "       and drained: `powerstack power on <node>` takes it back.\n" +
        "  on:  Redfish On, wait for the node to be Ready, uncordon.\n" +
        "  idle: one pass of the idle policy (for a systemd timer or cron): a worker with no workload pods\n" +
        "       outside cluster.power.system_namespaces for --idle-for, and whose Kepler power stayed at its\n" +
        "       idle draw, is drained and powered off (never the control node, never one holding volumes in\n" +
        "       use, never below cluster.power.min_workers_on); one off worker is powered on when pods are\n" +
        "       Pending for lack of CPU or memory. Acts only with --yes; --check says what and why per node.\n" +
        "  --check prints what would be done and changes nothing.\n" +
        "  Exit codes: 0 done, 1 an action failed (or a BMC gave no reading), 2 usage or input error,\n" +
        "  3 a BMC could not be reached.\n",
      load: () => import("./power.js"),
    },
    {
      name: "experiment",
      description:
        "run a plan of workload phases (Jobs pinned to nodes) and price each phase's energy; re-render a run's results",
      ownRunLog: true,
      honors: ["check"],
      args: [
        { name: "action", description: "run | report", required: true },
        {
          name: "target",
          description: "run: the plan file; report: a results directory that `experiment run` made",
          required: true,
        },
      ],
      options: [
        opt("--results <dir>", "run: where the run's results directory is made (a new one per run)", {
          default: "results",
        }),
        opt("--csv", "CSV output (results.csv holds the same)"),
        opt(
          "--reprice",
          "report: price the recorded phases against Prometheus again (default: from results.json, offline)",
        ),
        opt(
          "--scrape-interval <duration>",
          "how long after the last phase to wait for its last scrape (default: the inventory's monitoring scrape_interval, else 30s)",
        ),
        opt(
          "--plot <file>",
          "report: power over the experiment per node, phases marked, and energy per node, as .svg or .png (reads Prometheus)",
        ),
        opt("--tz <zone>", "report --plot: time zone of the time axis, an IANA name (default: TZ, else UTC)"),
        ...PROMETHEUS,
      ],
      helpAfter:
        "\n  run PLAN: creates the plan's namespace, runs every phase in order (settle, Jobs, wait, delete) for each\n" +
        "       repetition, reads each phase's window from its pods' status (the cluster's clock), deletes the\n" +
        "       namespace (also on failure and Ctrl-C; a second Ctrl-C exits at once), prices the windows against\n" +
        "       Prometheus and records everything in a new directory <results>/<plan>-<yyyymmddThhmmssZ>: plan.yaml,\n" +
        "       versions.json, nodes.json, phases.json, results.json, results.csv, run.log.jsonl. Nothing in an\n" +
        "       earlier directory is touched. --check prints the objects it would create and changes nothing.\n" +
        "  report DIR: prints a recorded run again (table, --json or --csv) from results.json, with no cluster or\n" +
        "       Prometheus; --reprice prices its phases.json against Prometheus anew (printed, not stored);\n" +
        "       --plot FILE draws the experiment's power over time per node with its phases marked.\n" +
        "  Exit codes: 0 done, 1 a phase or the pricing failed, 2 usage or input error (the plan), 130/143 interrupted.\n",
      load: () => import("./experiment.js"),
    },
  ],
};

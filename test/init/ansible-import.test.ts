import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { importAnsible } from "../../src/init/ansible/import.js";
import {
  expandHostPattern,
  parseAnsibleInventory,
  readAnsibleInventory,
} from "../../src/init/ansible/parse.js";
import { formatImportReport, reportLines } from "../../src/init/ansible/report.js";
import { emptyDraft, getIn, nodes } from "../../src/init/draft.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

function load(file: string) {
  const draft = emptyDraft();
  const report = importAnsible(readAnsibleInventory(join(FIXTURES, file)), draft);
  return { draft, report, nodes: nodes(draft), lines: reportLines(report) };
}

function fromText(text: string) {
  const draft = emptyDraft();
  const report = importAnsible(parseAnsibleInventory(text, "inline.yml"), draft);
  return { draft, report, nodes: nodes(draft), lines: reportLines(report) };
}

describe("import of a k3s-ansible inventory (server/agent under k3s_cluster)", () => {
  const { draft, lines, nodes: list } = load("k3s-ansible-server-agent.yml");

  it("takes roles from the groups and addresses from the host aliases", () => {
    expect(list.map((n) => [n.role, n.ssh_address])).toEqual([
      ["control", "198.51.100.11"],
      ["worker", "198.51.100.12"],
      ["worker", "198.51.100.13"],
    ]);
    // An IP is no node name: it is left to be asked.
    expect(list.every((n) => n.name === undefined)).toBe(true);
  });

  it("maps host and cluster variables onto inventory keys", () => {
    expect(list[0]).toMatchObject({
      storage_disk: "/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T123456",
      bmc: { address: "https://203.0.113.11", username: "USERID" },
      ssh_port: 22,
    });
    expect(list[1]!.storage_disk).toBeUndefined();
    expect(draft.doc).toMatchObject({
      ssh: { user: "debian" },
      cluster: {
        k3s: { version: "v1.30.2+k3s1" },
        nfs_network: "198.51.100.0/24",
        data_path: "/srv/powerstack",
        node_ports: { grafana: 30300 },
        volumes: { prometheus: { size: "100Gi" } },
      },
    });
    expect(lines.taken).toContain(
      "`bmc_ip` (hosts 198.51.100.11, 198.51.100.12, 198.51.100.13) → nodes[].bmc.address (https:// added)",
    );
  });

  it("keeps the token for the vault, out of the inventory", () => {
    expect(draft.secrets.k3sToken).toBe("changeme-0123456789");
    expect(JSON.stringify(draft.doc)).not.toContain("changeme");
  });

  it("reports the !vault value with its key and where it is defined, as a value to enter", () => {
    expect(lines.input).toEqual([
      "`bmc_password` (group k3s_cluster) [for 198.51.100.11, 198.51.100.12, 198.51.100.13] is encrypted inline (`!vault`); powerstack does not decrypt inline vault values: enter the BMC password (a secret)",
    ]);
    expect(draft.secrets.bmc.size).toBe(0);
    expect([...draft.mustEnter.keys()]).toEqual(["secret:bmc:0", "secret:bmc:1", "secret:bmc:2"]);
  });

  it("lists what it did not import, each with the reason; the K3s flags become inventory keys", () => {
    expect(lines.ignored.map((l) => l.split(":")[0])).toEqual([
      "`api_endpoint` (group k3s_cluster)",
      "`user_kubectl` (group k3s_cluster)",
      "`cilium_enabled` (group k3s_cluster)",
      "`gpu_model` (host 198.51.100.13)",
    ]);
    expect(lines.ignored[2]).toContain(": not recognised: powerstack has no setting with this meaning");
    expect(lines.taken).toContain(
      "`extra_server_args` (group k3s_cluster) `--disable traefik` → cluster.k3s.disable",
    );
    expect(draft.doc).toMatchObject({ cluster: { k3s: { disable: ["traefik"] } } });
  });
});

describe("import of a master/node inventory under all:", () => {
  const { draft, lines, nodes: list } = load("master-node.yml");

  it("names nodes after the first label of their host names", () => {
    expect(list.map((n) => [n.name, n.role, n.ssh_address])).toEqual([
      ["ctl1", "control", "192.0.2.10"],
      ["wrk1", "worker", "192.0.2.11"],
      ["wrk2", "worker", "192.0.2.12"],
    ]);
    expect(list[0]).toMatchObject({
      internal_ip: "192.0.2.10",
      external_ip: "198.51.100.10",
      storage_disk: "/dev/sdb",
    });
    expect(draft.doc).toMatchObject({
      ssh: { user: "ubuntu", key_file: "~/.ssh/lab_ed25519" },
      cluster: { kepler: { flavour: "legacy" } },
    });
  });

  it("reports Jinja expressions with the key, the host and the inventory key to enter, never copying them", () => {
    const ip = lines.input.find((l) => l.startsWith("`internal_ip`"));
    expect(ip).toContain("(host wrk1.lab.example) is a Jinja expression `{{ hostvars['wrk1.lab.example']");
    expect(ip).toContain(": enter nodes[1].internal_ip");
    expect(list[1]!.internal_ip).toBeUndefined();
    const token = lines.input.find((l) => l.startsWith("`k3s_token`"));
    expect(token).toContain("(group all) is a Jinja expression `{{ lookup('env', 'K3S_TOKEN') }}`");
    expect(draft.secrets.k3sToken).toBeUndefined();
    expect(draft.mustEnter.has("nodes[1].internal_ip")).toBe(true);
    expect(draft.mustEnter.has("secret:k3sToken")).toBe(true);
  });

  it("sends literal secrets to the vault values", () => {
    expect(draft.secrets.grafanaAdminPassword).toBe("grafana-secret");
    expect([...draft.secrets.bmc.values()]).toEqual(["redfish-secret", "redfish-secret", "redfish-secret"]);
  });

  it("lists unrecognised variables as ignored, with why", () => {
    expect(lines.ignored.filter((l) => l.includes("not recognised")).map((l) => l.split(":")[0])).toEqual([
      "`monitoring_team` (group all)",
      "`rack` (host wrk2.lab.example)",
    ]);
  });
});

describe("Ansible inventory semantics", () => {
  it("applies Ansible's precedence: all < parent group < child group < host", () => {
    const { nodes: list } = fromText(`
all:
  vars: { disk: /dev/all, bmc_user: from-all, k3s_version: v1.0.0+k3s1 }
  children:
    k3s_cluster:
      vars: { disk: /dev/parent, bmc_user: from-parent }
      children:
        master:
          vars: { disk: /dev/child }
          hosts:
            a: { bmc_ip: 203.0.113.1 }
            b: { disk: /dev/host, bmc_ip: 203.0.113.2 }
`);
    expect(list.map((n) => n.storage_disk)).toEqual(["/dev/child", "/dev/host"]);
    expect(list.map((n) => (n.bmc as { username: string }).username)).toEqual(["from-parent", "from-parent"]);
  });

  it("expands numeric host ranges", () => {
    expect(expandHostPattern("node[01:03].lab")).toEqual(["node01.lab", "node02.lab", "node03.lab"]);
    expect(expandHostPattern("r[1:2]n[1:2]")).toEqual(["r1n1", "r1n2", "r2n1", "r2n2"]);
    const { nodes: list, report } = fromText("agent:\n  hosts:\n    w[1:2]:\nserver:\n  hosts:\n    c1:\n");
    expect(list.map((n) => n.name)).toEqual(["w1", "w2", "c1"]);
    expect(report.notes).toContain("host pattern `w[1:2]` expanded to w1, w2");
  });

  it("notes a cluster-wide value that differs between hosts, without printing secrets", () => {
    const { draft, report } = fromText(`
server:
  hosts:
    c1: { ansible_user: alice, k3s_token: secret-one }
agent:
  hosts:
    w1: { ansible_user: bob, k3s_token: secret-two }
`);
    expect((draft.doc.ssh as { user: string }).user).toBe("alice");
    expect(report.notes.join("\n")).toContain("`ansible_user` differs between hosts (c1: alice; w1: bob)");
    expect(draft.secrets.k3sToken).toBe("secret-one");
    expect(report.notes.join("\n")).not.toContain("secret-two");
  });

  it("leaves out hosts outside the K3s groups, and says so", () => {
    const { nodes: list, report } = fromText("server:\n  hosts:\n    c1:\nbastion:\n  hosts:\n    jump1:\n");
    expect(list.map((n) => n.name)).toEqual(["c1"]);
    expect(report.notes).toContain("host `jump1` is in no server/agent (master/node) group: not imported");
  });

  it("refuses what it cannot read, saying how to fix it", () => {
    const cases: Array<[string, RegExp]> = [
      ["[server]\n198.51.100.1\n\n[agent]\n198.51.100.2\n", /looks like an INI inventory/],
      ["$ANSIBLE_VAULT;1.1;AES256\n6162\n", /encrypted with ansible-vault/],
      ["web:\n  hosts:\n    w1:\n", /no host is in a K3s server\/agent group \(found groups: web\)/],
      ["server:\n  hosts: [a, b\n", /inline.yml:\d+:\d+/],
    ];
    for (const [text, message] of cases) {
      const attempt = () => fromText(text);
      expect(attempt).toThrow(InputError);
      expect(attempt).toThrow(message);
    }
  });

  it("treats !unsafe text as a literal, not as Jinja", () => {
    const { draft, lines } = fromText(
      "server:\n  hosts:\n    c1:\n      grafana_admin_password: !unsafe 'p{{w}}d'\n",
    );
    expect(draft.secrets.grafanaAdminPassword).toBe("p{{w}}d");
    expect(lines.input).toEqual([]);
  });
});

describe("variables by name and by shape", () => {
  it("accounts for a definition every host overrides, as ignored with why", () => {
    const { lines, nodes: list } = fromText(`
all:
  vars: { disk: /dev/all }
  children:
    server:
      vars: { disk: /dev/child }
      hosts: { c1: {} }
`);
    expect(list[0]!.storage_disk).toBe("/dev/child");
    expect(lines.ignored).toEqual([
      "`disk` (group all): not in effect for any imported host (a more specific group or host variable overrides it, or its hosts are not imported)",
    ]);
  });

  it("resolves K3s flags naming the host's own variables, however they are written", () => {
    const { nodes: list, lines } = fromText(`
server:
  hosts:
    c1:
      internal_ip: 198.51.100.1
      public: 192.0.2.1
      extra_args: "--node-ip={{ internal_ip }} --node-external-ip={{ hostvars[inventory_hostname].public }}"
`);
    expect(list[0]).toMatchObject({ internal_ip: "198.51.100.1", external_ip: "192.0.2.1" });
    expect(lines.taken).toContain(
      "`extra_args` (host c1) `--node-external-ip={{ hostvars[inventory_hostname].public }}` → nodes[].external_ip (from `public`)",
    );
  });

  it("tells the Kepler line from the chart repository, and asks when it cannot", () => {
    const line = (url: string) => {
      const { draft, lines } = fromText(`server:\n  hosts:\n    c1: { kepler_repo_url: "${url}" }\n`);
      return { flavour: getIn(draft.doc, ["cluster", "kepler", "flavour"]), draft, lines };
    };
    expect(line("https://sustainable-computing-io.github.io/kepler-helm-chart").flavour).toBe("legacy");
    expect(line("oci://quay.io/sustainable_computing_io/charts/kepler").flavour).toBe("current");
    const unknown = line("https://charts.example.org/kepler");
    expect(unknown.flavour).toBeUndefined();
    expect(unknown.draft.mustEnter.has("cluster.kepler.flavour")).toBe(true);
    expect(unknown.lines.input[0]).toContain("is not a Kepler chart repository powerstack knows");
  });

  it("keeps a bookmarked NodePort written as text, and matches names in any case", () => {
    const { draft } = fromText(`
server:
  hosts:
    c1: { Grafana_Custom_NodePort: "30003", nodeport_prometheus: 30002, BMC_IP: 203.0.113.1, grafanaAdminPassword: pw }
`);
    expect(getIn(draft.doc, ["cluster", "node_ports"])).toEqual({ grafana: 30003, prometheus: 30002 });
    expect(getIn(draft.doc, ["nodes", 0, "bmc", "address"])).toBe("https://203.0.113.1");
    expect(draft.secrets.grafanaAdminPassword).toBe("pw");
  });
});

describe("K3s flags holding secrets", () => {
  it("takes the token over and never prints a secret flag's value", () => {
    const { draft, report } = fromText(`
server:
  hosts:
    c1:
      extra_server_args: "--token=tok-s3cret --datastore-endpoint postgres://k3s:db-s3cret@db:5432/k3s"
`);
    expect(draft.secrets.k3sToken).toBe("tok-s3cret");
    const printed = formatImportReport(report, nodes(draft), false).join("\n");
    expect(printed).toContain("`--token=<hidden>` → the K3s token");
    expect(printed).toContain("`--datastore-endpoint <hidden>`: not modelled");
    expect(printed).not.toMatch(/s3cret/);
    expect(JSON.stringify(draft.doc)).not.toMatch(/s3cret/);
  });
});

describe("ansible_ssh_common_args: the OpenSSH options powerstack has keys for", () => {
  it("ProxyCommand, UserKnownHostsFile and StrictHostKeyChecking become ssh.* keys; the rest is named as not used", () => {
    const { draft, lines } = fromText(`
k3s_cluster:
  children:
    server: { hosts: { 192.0.2.10: { node_name: ctl } } }
  vars:
    ansible_user: root
    ansible_ssh_common_args: >-
      -o ProxyCommand="ip netns exec labsw nc %h %p" -o UserKnownHostsFile=/etc/lab/known_hosts
      -o StrictHostKeyChecking=accept-new -o ControlMaster=auto
`);
    expect(draft.doc).toMatchObject({
      ssh: {
        user: "root",
        proxy_command: "ip netns exec labsw nc %h %p",
        known_hosts_file: "/etc/lab/known_hosts",
        known_hosts: "accept-new",
      },
    });
    expect(lines.taken.find((l) => l.startsWith("`ansible_ssh_common_args`"))).toContain(
      "as ssh.proxy_command, ssh.known_hosts_file, ssh.known_hosts; not used: ControlMaster=auto",
    );
  });

  it("-J (ProxyJump) still becomes ssh.jump_host; options with nothing for powerstack are reported, not guessed", () => {
    expect(
      fromText(
        `server:\n  hosts: { 192.0.2.10: {} }\n  vars: { ansible_ssh_common_args: "-J admin@192.0.2.1" }\n`,
      ).draft.doc,
    ).toMatchObject({
      ssh: { jump_host: "admin@192.0.2.1" },
    });
    const { lines } = fromText(
      `server:\n  hosts: { 192.0.2.10: {} }\n  vars: { ansible_ssh_common_args: "-o ControlPersist=60s" }\n`,
    );
    expect(lines.ignored.find((l) => l.startsWith("`ansible_ssh_common_args`"))).toContain(
      "holds no ProxyJump, ProxyCommand, UserKnownHostsFile or StrictHostKeyChecking setting",
    );
  });
});

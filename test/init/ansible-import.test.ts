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
import { emptyDraft, nodes } from "../../src/init/draft.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

function load(file: string) {
  const draft = emptyDraft();
  const report = importAnsible(readAnsibleInventory(join(FIXTURES, file)), draft);
  return { draft, report, nodes: nodes(draft) };
}

function fromText(text: string) {
  const draft = emptyDraft();
  const report = importAnsible(parseAnsibleInventory(text, "inline.yml"), draft);
  return { draft, report, nodes: nodes(draft) };
}

describe("import of a k3s-ansible inventory (server/agent under k3s_cluster)", () => {
  const { draft, report, nodes: list } = load("k3s-ansible-server-agent.yml");

  it("takes roles from the groups and addresses from the host aliases", () => {
    expect(list.map((n) => [n.role, n.ssh_address])).toEqual([
      ["control", "192.168.10.11"],
      ["worker", "192.168.10.12"],
      ["worker", "192.168.10.13"],
    ]);
    // An IP is no node name: it is left to be asked.
    expect(list.every((n) => n.name === undefined)).toBe(true);
  });

  it("maps host and cluster variables onto inventory keys", () => {
    expect(list[0]).toMatchObject({
      storage_disk: "/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T123456",
      bmc: { address: "https://192.168.20.11", username: "USERID" },
      ssh_port: 22,
    });
    expect(list[1]!.storage_disk).toBeUndefined();
    expect(draft.doc).toMatchObject({
      ssh: { user: "debian" },
      cluster: {
        k3s: { version: "v1.30.2+k3s1" },
        nfs_network: "192.168.10.0/24",
        data_path: "/srv/powerstack",
        node_ports: { grafana: 30300 },
        volumes: { prometheus: { size: "100Gi" } },
      },
    });
    expect(report.imported).toContain("`bmc_ip` → nodes[].bmc.address (https:// added) (all hosts)");
  });

  it("keeps the token for the vault, out of the inventory", () => {
    expect(draft.secrets.k3sToken).toBe("changeme-0123456789");
    expect(JSON.stringify(draft.doc)).not.toContain("changeme");
  });

  it("reports the !vault value with its key and where it is defined, as a value to enter", () => {
    expect(report.toEnter).toHaveLength(1);
    expect(report.toEnter[0]).toMatch(
      /^`bmc_password` \(group k3s_cluster\) is encrypted inline \(`!vault`\).*must be entered/,
    );
    expect(report.toEnter[0]).toContain("192.168.10.11, 192.168.10.12, 192.168.10.13");
    expect(draft.secrets.bmc.size).toBe(0);
    expect([...draft.mustEnter.keys()]).toEqual(["secret:bmc:0", "secret:bmc:1", "secret:bmc:2"]);
  });

  it("lists what it did not import: ignored with the reason, unrecognised by name", () => {
    expect(report.unrecognised).toEqual([
      "`cilium_enabled` (group k3s_cluster)",
      "`gpu_model` (host 192.168.10.13)",
    ]);
    expect(report.ignored.map((l) => l.split(" ")[0])).toEqual([
      "`api_endpoint`",
      "`extra_server_args`",
      "`user_kubectl`",
    ]);
  });
});

describe("import of a master/node inventory under all:", () => {
  const { draft, report, nodes: list } = load("master-node.yml");

  it("names nodes after the first label of their host names", () => {
    expect(list.map((n) => [n.name, n.role, n.ssh_address])).toEqual([
      ["ctl1", "control", "10.1.0.10"],
      ["wrk1", "worker", "10.1.0.11"],
      ["wrk2", "worker", "10.1.0.12"],
    ]);
    expect(list[0]).toMatchObject({
      internal_ip: "10.1.0.10",
      external_ip: "198.51.100.10",
      storage_disk: "/dev/sdb",
    });
    expect(draft.doc).toMatchObject({
      ssh: { user: "ubuntu", key_file: "~/.ssh/lab_ed25519" },
      cluster: { kepler: { flavour: "legacy" } },
    });
  });

  it("reports Jinja expressions with the key, the host and the inventory key to enter, never copying them", () => {
    const ip = report.toEnter.find((l) => l.startsWith("`internal_ip`"));
    expect(ip).toContain("(host wrk1.lab.example) is a Jinja expression `{{ hostvars['wrk1.lab.example']");
    expect(ip).toContain("must be entered (nodes[1].internal_ip)");
    expect(list[1]!.internal_ip).toBeUndefined();
    const token = report.toEnter.find((l) => l.startsWith("`k3s_token`"));
    expect(token).toContain("(group all) is a Jinja expression `{{ lookup('env', 'K3S_TOKEN') }}`");
    expect(draft.secrets.k3sToken).toBeUndefined();
    expect(draft.mustEnter.has("nodes[1].internal_ip")).toBe(true);
    expect(draft.mustEnter.has("secret:k3sToken")).toBe(true);
  });

  it("sends literal secrets to the vault values", () => {
    expect(draft.secrets.grafanaAdminPassword).toBe("grafana-secret");
    expect([...draft.secrets.bmc.values()]).toEqual(["redfish-secret", "redfish-secret", "redfish-secret"]);
  });

  it("lists unrecognised variables", () => {
    expect(report.unrecognised).toEqual(["`monitoring_team` (group all)", "`rack` (host wrk2.lab.example)"]);
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
            a: { bmc_ip: 10.9.0.1 }
            b: { disk: /dev/host, bmc_ip: 10.9.0.2 }
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
      ["[server]\n10.0.0.1\n\n[agent]\n10.0.0.2\n", /looks like an INI inventory/],
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
    const { draft, report } = fromText(
      "server:\n  hosts:\n    c1:\n      grafana_admin_password: !unsafe 'p{{w}}d'\n",
    );
    expect(draft.secrets.grafanaAdminPassword).toBe("p{{w}}d");
    expect(report.toEnter).toEqual([]);
  });
});

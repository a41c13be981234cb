/**
 * A vault in the original project's shape (issue 18): one `ansible_vault` mapping read by the playbooks as
 * `{{ ansible_vault.* }}`, with comments, a list, a PEM block, a flow mapping and an empty value; and every
 * value in it by its dotted path, in file order. Shared by the nested-vault tests and the ansible-vault
 * interoperability test, so both check the same file.
 */
export const NESTED_VAULT = `---
# Lab secrets, read by the playbooks as {{ ansible_vault.* }}
ansible_vault:
  token: K10abc::server:xyz   # k3s join token
  grafana_password: "p@ss: word"
  bmc:
    user: USERID
    password: 0123
  ssh_keys:
  - ssh-ed25519 AAAA one
  - ssh-ed25519 AAAA two
  ca: |
    -----BEGIN CERTIFICATE-----
    MIIB
    -----END CERTIFICATE-----

  slack: {webhook: https://hooks.example/T/B/X, enabled: yes}   # flow style
  unset:
`;

export const NESTED_VAULT_VALUES: Readonly<Record<string, string>> = {
  "ansible_vault.token": "K10abc::server:xyz",
  "ansible_vault.grafana_password": "p@ss: word",
  "ansible_vault.bmc.user": "USERID",
  "ansible_vault.bmc.password": "0123",
  "ansible_vault.ssh_keys.0": "ssh-ed25519 AAAA one",
  "ansible_vault.ssh_keys.1": "ssh-ed25519 AAAA two",
  "ansible_vault.ca": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  "ansible_vault.slack.webhook": "https://hooks.example/T/B/X",
  "ansible_vault.slack.enabled": "yes",
  "ansible_vault.unset": "",
};

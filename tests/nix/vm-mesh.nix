# checks.x86_64-linux.vm-mesh: three NixOS VMs running services.hortus
# (kernel WireGuard, systemd-networkd, BIRD 3) from the committed plan in
# ./vm-mesh/ (alpha and beta public, gamma behind NAT). Asserts that every
# node reaches every other node's mesh address, and that a cut link
# alpha–beta fails over through gamma and comes back.
#
# Needs KVM to run in reasonable time:
#   nix build .#checks.x86_64-linux.vm-mesh -L
# Interactively: nix run .#checks.x86_64-linux.vm-mesh.driverInteractive
{ pkgs }:
let
  dir = ./vm-mesh;
  plan = builtins.fromJSON (builtins.readFile (dir + "/plan.json"));
  address = name: plan.nodes.${name}.address;
  # beta's underlay address (eth1), the first of its plan endpoints.
  betaUnderlay = (builtins.head plan.nodes.beta.endpoints).host;

  # Test-only keys (their public halves are in ./vm-mesh/hortus.toml).
  # A real host keeps its key out of the store (agenix, sops-nix, ...).
  privateKeys = {
    alpha = "4NJj/6cIX2rV/EPRN5Ck1OJ3Pb9JHOToSrijmjb1SEg=";
    beta = "QBuyh/YRSag7eLGZUpTBK8idLTD9/uOAVAHOcNYukmE=";
    gamma = "2G0zHmgtQWS9iq7YbCHUxeOgjWpq2uFd4JoCofHKrEw=";
  };

  node =
    name:
    { ... }:
    {
      imports = [ ../../nix/module.nix ];
      # eth1 on VLAN 1 gets 192.168.1.<n> from the test framework.
      virtualisation.vlans = [ 1 ];
      networking.useNetworkd = true;
      networking.useDHCP = false;
      environment.etc."hortus/wireguard.key" = {
        text = privateKeys.${name};
        mode = "0640";
        group = "systemd-network";
      };
      environment.systemPackages = [ pkgs.wireguard-tools ];
      services.hortus = {
        enable = true;
        planFile = dir + "/plan.json";
        birdConfigFile = dir + "/${name}/bird.conf";
        privateKeyFile = "/etc/hortus/wireguard.key";
      };
    };
in
pkgs.testers.runNixOSTest {
  name = "hortus-vm-mesh";
  nodes = {
    alpha = node "alpha";
    beta = node "beta";
    gamma = node "gamma";
  };
  testScript = ''
    mesh = {"alpha": alpha, "beta": beta, "gamma": gamma}
    addresses = ${builtins.toJSON (builtins.mapAttrs (name: _: address name) plan.nodes)}
    links = ${builtins.toJSON (builtins.mapAttrs (_: node: builtins.length node.links) plan.nodes)}

    start_all()
    for machine in mesh.values():
        machine.wait_for_unit("systemd-networkd.service")
        machine.wait_for_unit("bird.service")

    with subtest("every node reaches every other node's mesh address"):
        for name, machine in mesh.items():
            for other, addr in addresses.items():
                if other != name:
                    machine.wait_until_succeeds(f"ping -c 1 -W 1 {addr}", timeout=180)

    with subtest("every planned link has a handshake"):
        for name, machine in mesh.items():
            machine.succeed(f"test $(wg show all latest-handshakes | awk '$3 > 0' | wc -l) -eq {links[name]}")

    with subtest("a cut link alpha-beta fails over through gamma"):
        alpha.succeed("iptables -I INPUT -s ${betaUnderlay} -p udp -j DROP")
        alpha.succeed("iptables -I OUTPUT -d ${betaUnderlay} -p udp -j DROP")
        alpha.wait_until_succeeds(f"ip -6 route get {addresses['beta']} | grep -q 'dev wg-gamma'", timeout=180)
        alpha.succeed(f"ping -c 1 -W 2 {addresses['beta']}")
        beta.succeed(f"ping -c 1 -W 2 {addresses['alpha']}")

    with subtest("the link comes back"):
        alpha.succeed("iptables -D INPUT -s ${betaUnderlay} -p udp -j DROP")
        alpha.succeed("iptables -D OUTPUT -d ${betaUnderlay} -p udp -j DROP")
        alpha.wait_until_succeeds(f"ip -6 route get {addresses['beta']} | grep -q 'dev wg-beta'", timeout=240)
        alpha.succeed(f"ping -c 1 -W 2 {addresses['beta']}")
  '';
}

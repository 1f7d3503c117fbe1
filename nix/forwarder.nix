# services.hortus' forwarders: per forwarded link of this host whose plan
# names phantun (`mesh.forwarder = "phantun"`, the default), a systemd
# service running phantun's client or server with the plan's arguments
# (`forwarder.args`; a client dialling a DNS name under `hortus
# forwarder-client`, which follows the name: the command line `hortus
# render --format forwarder` writes, ./lib.nix `phantunCommand`); the plan's NAT rules (`node.nat_rules`: the server's TCP port
# DNATed to its TUN peer address, the client's TUN masqueraded), one to one,
# for the nftables and the iptables firewall; and the plan's TCP ports
# (`node.firewall.tcp_ports`) opened. IP forwarding is in the plan's
# `node.sysctl`, which ./module.nix sets. Reads config.services.hortus.plan;
# sets nothing while it is null or the host runs no phantun.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib)
    concatStringsSep
    escapeShellArgs
    filter
    literalExpression
    mkIf
    mkMerge
    mkOption
    types
    ;

  cfg = config.services.hortus;
  mapping = import ./lib.nix;
  hostPlan = cfg.plan;
  instances = if hostPlan == null then [ ] else mapping.phantunInstances hostPlan;
  natRules = if hostPlan == null then [ ] else hostPlan.node.nat_rules;
  dnatRules = filter (r: r.action == "dnat") natRules;
  masqueradeRules = filter (r: r.action == "masquerade") natRules;
  firewall = config.networking.firewall;
  nftablesBackend = firewall.backend == "nftables";

  unitName = i: "hortus-phantun-${i.link.peer}";

  service = i: {
    name = unitName i;
    value = {
      description = "hortus: phantun ${if i.client then "client" else "server"} for the link to ${i.link.peer}";
      documentation = [ "https://github.com/dndx/phantun" ];
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      # After its NAT rules (either firewall backend) and the network; with
      # the WireGuard interface it carries: stopped and started again with
      # systemd-networkd, which owns it.
      after = [
        "network-online.target"
        "systemd-networkd.service"
        "firewall.service"
        "nftables.service"
      ];
      partOf = [ "systemd-networkd.service" ];
      # hortus-render's phantun unit settings (nix/render-constants.json).
      environment = mapping.constants.phantun.environment;
      serviceConfig = mapping.constants.phantun.service // {
        ExecStart = escapeShellArgs (
          mapping.phantunCommand {
            hortus = "${cfg.package}/bin/hortus";
            phantun = "${cfg.forwarder.package}/bin/${if i.client then "client" else "server"}";
          } hostPlan i
        );
      };
    };
  };

  # iptables: the plan's NAT rules in chains of their own, hooked in once, so a
  # firewall reload does not pile them up.
  ipt = cmd: chain: hook: ''
    ${cmd} -t nat -N ${chain} 2>/dev/null || true
    ${cmd} -t nat -F ${chain}
    ${cmd} -t nat -C ${hook} -j ${chain} 2>/dev/null || ${cmd} -t nat -A ${hook} -j ${chain}
  '';
  iptUndo = cmd: chain: hook: ''
    ${cmd} -t nat -D ${hook} -j ${chain} 2>/dev/null || true
    ${cmd} -t nat -F ${chain} 2>/dev/null || true
    ${cmd} -t nat -X ${chain} 2>/dev/null || true
  '';
  iptablesStart = concatStringsSep "" (
    [
      (ipt "iptables" "hortus-fwd-pre" "PREROUTING")
      (ipt "ip6tables" "hortus-fwd-pre" "PREROUTING")
      (ipt "iptables" "hortus-fwd-post" "POSTROUTING")
      (ipt "ip6tables" "hortus-fwd-post" "POSTROUTING")
    ]
    # A dnat rule: new TCP connections to its port on a local address, not
    # from its own interface, to `to` (IPv4) and `to6` (IPv6).
    ++ map (
      r:
      let
        dnat = cmd: to: ''
          ${cmd} -t nat -A hortus-fwd-pre ! -i ${r.except_interface} -p tcp --dport ${toString r.port} -m addrtype --dst-type LOCAL -j DNAT --to-destination ${to}
        '';
      in
      dnat "iptables" r.to + dnat "ip6tables" r.to6
    ) dnatRules
    # A masquerade rule, by its source addresses `from` / `from6` (iptables
    # cannot match an input interface in POSTROUTING; nftables matches `interface`).
    ++ map (r: ''
      iptables -t nat -A hortus-fwd-post -s ${r.from} -j MASQUERADE
      ip6tables -t nat -A hortus-fwd-post -s ${r.from6} -j MASQUERADE
    '') masqueradeRules
  );
  iptablesStop = concatStringsSep "" [
    (iptUndo "iptables" "hortus-fwd-pre" "PREROUTING")
    (iptUndo "ip6tables" "hortus-fwd-pre" "PREROUTING")
    (iptUndo "iptables" "hortus-fwd-post" "POSTROUTING")
    (iptUndo "ip6tables" "hortus-fwd-post" "POSTROUTING")
  ];
in
{
  options.services.hortus.forwarder = {
    enable = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Run this host's phantun instances: one service per forwarded link of
        the plan whose forwarder is phantun, with the NAT rules it needs.
        When false, the plan's `forwarder` entries only describe what to run.
      '';
    };

    package = mkOption {
      type = types.package;
      default = pkgs.phantun;
      defaultText = literalExpression "pkgs.phantun";
      description = "The phantun package (its `bin/client` and `bin/server`).";
    };
  };

  config = mkIf (cfg.enable && cfg.forwarder.enable && instances != [ ]) (mkMerge [
    {
      systemd.services = builtins.listToAttrs (map service instances);

      # The phantun servers accept the clients' TCP on these ports.
      networking.firewall.allowedTCPPorts = mkIf cfg.openFirewall hostPlan.node.firewall.tcp_ports;
    }
    (mkIf nftablesBackend {
      networking.nftables.tables.hortus_forwarder = {
        family = "inet";
        content = mapping.nftablesForwarderTable hostPlan;
      };
      # With forward filtering on: the plan's `firewall.forward_accept`
      # (DNATed connections reach the TUN, TUN traffic leaves).
      networking.firewall.extraForwardRules = mkIf firewall.filterForward (mapping.nftablesForwardAccept hostPlan);
    })
    (mkIf (!nftablesBackend) {
      networking.firewall.extraCommands = iptablesStart;
      networking.firewall.extraStopCommands = iptablesStop;
    })
  ]);
}

# services.hortus' forwarders: per forwarded link of this host whose plan
# names phantun (`mesh.forwarder = "phantun"`, the default), a systemd
# service running phantun's client or server with the same command line
# `hortus render --format forwarder` writes; the NAT phantun needs (the
# server's TCP port DNATed to its TUN peer address, the client's TUN
# address masqueraded) for the nftables and the iptables firewall; and the
# server's TCP port opened. Reads config.services.hortus.plan; sets nothing
# while it is null or the host runs no phantun.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib)
    concatMapStrings
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
  servers = filter (i: !i.client) instances;
  clients = filter (i: i.client) instances;
  firewall = config.networking.firewall;
  nftablesBackend = firewall.backend == "nftables";

  unitName = i: "hortus-phantun-${i.link.peer}";

  # phantun's arguments, as hortus-render's PhantunInstance::args.
  args =
    i:
    let
      f = i.forwarder;
    in
    [
      "--local"
      (if i.client then f.listen else toString f.port)
      "--remote"
      (if i.client then f.remote else f.deliver)
      "--tun"
      f.tun.name
      "--tun-local"
      f.tun.local
      "--tun-peer"
      f.tun.peer
      "--tun-local6"
      f.tun.local6
      "--tun-peer6"
      f.tun.peer6
    ];

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
      environment.RUST_LOG = "info";
      serviceConfig = {
        ExecStart = "${cfg.forwarder.package}/bin/${if i.client then "client" else "server"} ${escapeShellArgs (args i)}";
        Restart = "always";
        RestartSec = 2;
        DynamicUser = true;
        # Only what creating its TUN device and setting its addresses needs.
        AmbientCapabilities = [ "CAP_NET_ADMIN" ];
        CapabilityBoundingSet = [ "CAP_NET_ADMIN" ];
        NoNewPrivileges = true;
        DeviceAllow = [ "/dev/net/tun rw" ];
        DevicePolicy = "closed";
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        RestrictAddressFamilies = [
          "AF_INET"
          "AF_INET6"
          "AF_NETLINK"
          "AF_UNIX"
        ];
        RestrictNamespaces = true;
        RestrictRealtime = true;
        LockPersonality = true;
        MemoryDenyWriteExecute = true;
        SystemCallArchitectures = "native";
      };
    };
  };

  # nftables: the chains of hortus-render's table `hortus_forwarder`.
  nftDnat =
    i:
    concatMapStrings (
      target:
      "    iifname != \"${i.forwarder.tun.name}\" fib daddr type local tcp dport ${toString i.forwarder.port} dnat ${target}\n"
    ) [ "ip to ${i.forwarder.tun.peer}" "ip6 to ${i.forwarder.tun.peer6}" ];
  nftTable = ''
    chain prerouting {
      type nat hook prerouting priority dstnat; policy accept;
    ${concatMapStrings nftDnat servers}  }
    chain postrouting {
      type nat hook postrouting priority srcnat; policy accept;
    ${concatMapStrings (i: "    iifname \"${i.forwarder.tun.name}\" masquerade\n") clients}  }
  '';

  # iptables: the same rules in chains of their own, hooked in once, so a
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
    ++ map (
      i:
      let
        f = i.forwarder;
        dnat = cmd: to: ''
          ${cmd} -t nat -A hortus-fwd-pre ! -i ${f.tun.name} -p tcp --dport ${toString f.port} -m addrtype --dst-type LOCAL -j DNAT --to-destination ${to}
        '';
      in
      dnat "iptables" f.tun.peer + dnat "ip6tables" f.tun.peer6
    ) servers
    ++ map (i: ''
      iptables -t nat -A hortus-fwd-post -s ${i.forwarder.tun.peer} -j MASQUERADE
      ip6tables -t nat -A hortus-fwd-post -s ${i.forwarder.tun.peer6} -j MASQUERADE
    '') clients
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

      # A phantun server accepts the client's TCP on the link's port.
      networking.firewall.allowedTCPPorts = mkIf cfg.openFirewall (map (i: i.forwarder.port) servers);
    }
    (mkIf nftablesBackend {
      networking.nftables.tables.hortus_forwarder = {
        family = "inet";
        content = nftTable;
      };
      # With forward filtering on, DNATed connections reach the TUN.
      networking.firewall.extraForwardRules = mkIf firewall.filterForward (
        concatMapStrings (i: "oifname \"${i.forwarder.tun.name}\" tcp dport ${toString i.forwarder.port} accept\n") servers
        + concatMapStrings (i: "iifname \"${i.forwarder.tun.name}\" accept\n") instances
      );
    })
    (mkIf (!nftablesBackend) {
      networking.firewall.extraCommands = iptablesStart;
      networking.firewall.extraStopCommands = iptablesStop;
    })
  ]);
}

# services.hortus under nixpkgs' lib.evalModules (with ./nixos-stubs.nix),
# one named case each: `{ ok = bool; detail = what was seen; }`. run.sh
# prints one line per case. The inventory-mode cases run hortus through
# `pkgs` (./stub-pkgs.nix: needs --read-write-mode and sandbox off).
{
  lib,
  pkgs,
  # The six-node inventory, its fresh plan, and what the hortus under test
  # prints for host `host`: plan --host, render --format bird / babeld /
  # sysctl, and the body of table hortus_forwarder of render --format
  # forwarder's hortus-forwarder.nft.
  inventory,
  planFile,
  # The same mesh with an IPv4 overlay (mesh.ipv4_prefix), and its sysctl.d file.
  ipv4PlanFile,
  host,
  hostPlanFile,
  birdFile,
  babeldFile,
  sysctlFile,
  ipv4SysctlFile,
  nftBodyFile,
  # null: every case, each run under builtins.tryEval (a case that throws,
  # e.g. on a conflicting definition, fails alone); a name: that case alone,
  # unguarded, for its error message.
  only ? null,
}:
let
  inherit (import ./module-eval.nix { inherit lib pkgs; }) evalHost;
  mapping = import ../../nix/lib.nix;

  keyFile = "/run/agenix/hortus-wireguard";
  plan = builtins.fromJSON (builtins.readFile planFile);
  expectedHostPlan = builtins.fromJSON (builtins.readFile hostPlanFile);
  standIn = builtins.toFile "stand-in.conf" "# stand-in\n";
  # Stands in for pkgs.phantun (the stub pkgs has none): a store path.
  phantunStandIn = builtins.toFile "phantun" "";

  # A host configured from the committed plan, plus `extra` settings.
  fromPlanFile =
    extra:
    evalHost {
      imports = [ extra ];
      services.hortus = {
        enable = true;
        inherit planFile;
        hostName = lib.mkDefault host;
        privateKeyFile = lib.mkDefault keyFile;
        birdConfigFile = lib.mkDefault standIn;
        forwarder.package = lib.mkDefault phantunStandIn;
      };
    };

  # A host configured from the inventory (hortus runs: IFD).
  fromInventory =
    extra:
    evalHost {
      imports = [ extra ];
      services.hortus = {
        enable = true;
        inherit inventory;
        hostName = host;
        privateKeyFile = keyFile;
      };
    };

  # A plan file: the fresh plan changed by `f`.
  planWith = f: builtins.toFile "hortus-plan.json" (builtins.toJSON (f plan));

  failedAssertions = config: map (a: a.message) (builtins.filter (a: !a.assertion) config.assertions);

  # The case passes when a failed assertion's message contains `text`.
  refuses = text: config: {
    ok = builtins.any (lib.hasInfix text) (failedAssertions config);
    detail = failedAssertions config;
  };

  # The case passes when `actual` equals `expected`.
  equal = actual: expected: {
    ok = actual == expected;
    detail = {
      inherit actual expected;
    };
  };

  # The case passes when `config` has no failed assertion and `check` holds.
  accepted = config: check: {
    ok = failedAssertions config == [ ] && check;
    detail = failedAssertions config;
  };

  # A sysctl.d file's `key = value` lines as an attrset.
  parseSysctl =
    file:
    builtins.listToAttrs (
      map (
        line:
        let
          m = builtins.match "([^ =]+) *= *([0-9]+)" line;
        in
        if m == null then
          throw "not a sysctl.d line: ${line}"
        else
          {
            name = builtins.elemAt m 0;
            value = lib.toInt (builtins.elemAt m 1);
          }
      ) (builtins.filter (l: l != "" && !lib.hasPrefix "#" l) (lib.splitString "\n" (builtins.readFile file)))
    );
  # What `hortus render --format sysctl` writes for the host (plan `node.sysctl`).
  renderedSysctl = parseSysctl sysctlFile;
  renderedIpv4Sysctl = parseSysctl ipv4SysctlFile;
  # Every sysctl defined (the stand-ins' own declared keys left at null
  # dropped): with BIRD, hortus' definitions alone.
  definedSysctl = config: lib.filterAttrs (_: v: v != null) config.boot.kernel.sysctl;
  # The values of the keys `rendered` has (reading them merges every
  # definition: a key defined twice fails here).
  renderedKeys = rendered: config: lib.filterAttrs (n: _: rendered ? ${n}) config.boot.kernel.sysctl;
  # A host running babeld with the committed (stand-in) babeld config.
  babeld = {
    services.hortus.routingDaemon = "babeld";
    services.hortus.babeldConfigFile = standIn;
  };
  ipv4 = {
    services.hortus.planFile = lib.mkForce ipv4PlanFile;
  };
  # A kernel without the iptables rpfilter match (nixpkgs' default has it).
  noRPFilter = {
    boot.kernelPackages = {
      kernel = {
        config.isEnabled = _: false;
        features = { };
      };
    };
  };

  byInventory = fromInventory { };
  byPlanFile = fromPlanFile { };
  interfaces = mapping.interfaces expectedHostPlan;

  guarded =
    name: case:
    let
      result = builtins.tryEval (builtins.deepSeq case case);
    in
    if result.success then
      result.value
    else
      {
        ok = false;
        detail = "evaluation failed";
      };
in
(cases: if only == null then builtins.mapAttrs guarded cases else cases.${only}) {
  "hosts: every node's ULA and IPv4 overlay address in networking.hosts as <node>.hortus" =
    let
      v4plan = builtins.fromJSON (builtins.readFile ipv4PlanFile);
      expected = lib.foldl' (
        acc: name:
        let
          n = v4plan.nodes.${name};
        in
        acc // { ${n.address} = [ "${name}.hortus" ]; ${n.ipv4_address} = [ "${name}.hortus" ]; }
      ) { } (lib.attrNames v4plan.nodes);
    in
    equal (fromPlanFile ipv4).networking.hosts expected;

  "hosts: services.hortus.hosts.domain names them, hosts.enable = false adds none" =
    equal
      [
        (fromPlanFile { services.hortus.hosts.domain = "mesh.example.org"; }).networking.hosts."fdcc::1"
        (fromPlanFile { services.hortus.hosts.enable = false; }).networking.hosts
      ]
      [
        [ "hastur.mesh.example.org" ]
        { }
      ];

  "hosts: a committed host view names every node too (its links' and its skipped peers)" =
    let
      # yidhra has no link to azasos (skipped: no forwarder server).
      view = builtins.toFile "yidhra.plan.json" (builtins.toJSON (mapping.hostView plan "yidhra"));
      config = fromPlanFile {
        services.hortus.planFile = lib.mkForce view;
        services.hortus.hostName = "yidhra";
      };
    in
    equal {
      skipped = map (s: s.peer) config.services.hortus.plan.node.skipped;
      hosts = config.networking.hosts;
    } {
      skipped = [ "azasos" ];
      hosts = lib.mapAttrs' (name: n: lib.nameValuePair n.address [ "${name}.hortus" ]) plan.nodes;
    };

  "inventory (IFD): the plan option is `hortus plan --host`" = equal byInventory.services.hortus.plan expectedHostPlan;

  "inventory (IFD): services.bird.config is `hortus render --format bird` and bird.extraConfig" =
    let
      config = fromInventory { services.hortus.bird.extraConfig = "protocol static extra { ipv6; }"; };
    in
    equal config.services.bird.config (builtins.readFile birdFile + "\nprotocol static extra { ipv6; }");

  "inventory (IFD): networkd units equal the planFile mode's" = equal {
    inherit (byInventory.systemd.network) netdevs networks;
  } { inherit (byPlanFile.systemd.network) netdevs networks; };

  "inventory (IFD): babeld gets `hortus render --format babeld` (NixOS pid/state/socket paths), BIRD stays off" =
    let
      config = fromInventory { services.hortus.routingDaemon = "babeld"; };
    in
    equal {
      inherit (config.services.babeld) enable extraConfig;
      bird = config.services.bird.enable;
    } {
      enable = true;
      extraConfig = builtins.readFile babeldFile;
      bird = false;
    };

  "babeld may open its local socket (for hortus status): AF_UNIX joins babeld.nix's address families" =
    let
      config = fromPlanFile babeld;
    in
    equal (lib.sort lib.lessThan config.systemd.services.babeld.serviceConfig.RestrictAddressFamilies) [
      "AF_INET"
      "AF_INET6"
      "AF_NETLINK"
      "AF_UNIX"
    ];

  "babeld: hortus babeld-seqno seeds babeld's state file (the one its config names) before it starts" =
    let
      config = fromPlanFile babeld;
    in
    equal config.systemd.services.babeld.serviceConfig.ExecStartPre [
      "${config.services.hortus.package}/bin/hortus babeld-seqno --state-file /var/lib/babeld/state"
    ];

  "planFile: routingDaemon defaults to the plan's mesh.routing, the committed BIRD config is used" =
    accepted byPlanFile (
      byPlanFile.services.hortus.routingDaemon == plan.mesh.routing
      && byPlanFile.services.bird.enable
      && byPlanFile.services.bird.config == "# stand-in\n"
    );

  "planFile: a committed host view (plan --host) works for its host" =
    let
      config = fromPlanFile { services.hortus.planFile = lib.mkForce hostPlanFile; };
    in
    accepted config (config.services.hortus.plan == expectedHostPlan);

  "reconcile: /etc/hortus/plan.json is `hortus plan --host`; hortus-reconcile runs after networkd, again when the plan changes" =
    let
      unit = config: config.systemd.services.hortus-reconcile;
      changed = fromPlanFile {
        services.hortus.planFile = lib.mkForce (planWith (p: p // { warnings = p.warnings ++ [ "changed" ]; }));
      };
    in
    equal
      {
        plan = builtins.fromJSON byPlanFile.environment.etc."hortus/plan.json".text;
        inherit (unit byPlanFile) after wantedBy;
        inherit ((unit byPlanFile).serviceConfig) Type RemainAfterExit;
        rerunOnChange = (unit byPlanFile).restartTriggers != (unit changed).restartTriggers;
      }
      {
        plan = expectedHostPlan;
        after = [ "systemd-networkd.service" ];
        wantedBy = [ "multi-user.target" ];
        Type = "oneshot";
        RemainAfterExit = true;
        rerunOnChange = true;
      };

  "endpoints: hortus-endpoints runs by default when the plan says the host switches endpoints, after reconcile, restarted when the plan changes; off when it does not or when disabled" =
    let
      unit = config: config.systemd.services.hortus-endpoints;
      switching =
        extra:
        planWith (p: lib.recursiveUpdate (extra p) { nodes.${host}.switches_endpoints = true; });
      on = fromPlanFile { services.hortus.planFile = lib.mkForce (switching (p: p)); };
      changed = fromPlanFile {
        services.hortus.planFile = lib.mkForce (switching (p: p // { warnings = p.warnings ++ [ "changed" ]; }));
      };
      off = fromPlanFile {
        services.hortus.planFile = lib.mkForce (switching (p: p));
        services.hortus.endpoints.enable = false;
      };
    in
    equal
      {
        inherit (unit on) wantedBy;
        afterReconcile = lib.elem "hortus-reconcile.service" (unit on).after;
        inherit ((unit on).serviceConfig) ExecStart Restart CapabilityBoundingSet;
        restartOnChange = (unit on).restartTriggers != (unit changed).restartTriggers;
        off = off.systemd.services ? hortus-endpoints;
        # This host (abhoth) dials no name and no second candidate.
        quiet = byPlanFile.systemd.services ? hortus-endpoints;
      }
      {
        wantedBy = [ "multi-user.target" ];
        afterReconcile = true;
        ExecStart = "${on.services.hortus.package}/bin/hortus endpoints --plan /etc/hortus/plan.json";
        Restart = "always";
        CapabilityBoundingSet = [ "CAP_NET_ADMIN" ];
        restartOnChange = true;
        off = false;
        quiet = expectedHostPlan.node.switches_endpoints;
      };

  "failover: hortus-failover.service, hardened, on when the plan probes links, off when it does not or when disabled" =
    let
      unit = config: config.systemd.services.hortus-failover;
      probing = planWith (p: lib.recursiveUpdate p { mesh.failover.probe = true; });
      notProbingPlan = planWith (p: lib.recursiveUpdate p { mesh.failover.probe = false; });
      on = fromPlanFile { services.hortus.planFile = lib.mkForce probing; };
      off = fromPlanFile {
        services.hortus.planFile = lib.mkForce probing;
        services.hortus.failover.enable = false;
      };
    in
    equal
      {
        inherit ((unit on).serviceConfig)
          ExecStart
          CapabilityBoundingSet
          RuntimeDirectory
          DynamicUser
          ProtectSystem
          ;
        afterNetworkd = lib.elem "systemd-networkd.service" (unit on).after;
        notProbing = (fromPlanFile { services.hortus.planFile = lib.mkForce notProbingPlan; }).systemd.services ? hortus-failover;
        off = off.systemd.services ? hortus-failover;
      }
      {
        ExecStart = "${on.services.hortus.package}/bin/hortus failover --plan /etc/hortus/plan.json";
        CapabilityBoundingSet = [
          "CAP_NET_ADMIN"
          "CAP_NET_RAW"
        ];
        RuntimeDirectory = "hortus-failover";
        DynamicUser = "yes";
        ProtectSystem = "strict";
        afterNetworkd = true;
        notProbing = false;
        off = false;
      };

  "planFile: firewall opens the plan's UDP ports and trusts the mesh interfaces" =
    accepted byPlanFile (
      byPlanFile.networking.firewall.allowedUDPPorts == expectedHostPlan.node.firewall.udp_ports
      && byPlanFile.networking.firewall.trustedInterfaces == expectedHostPlan.node.firewall.mesh_interfaces
      && byPlanFile.networking.firewall.checkReversePath == "loose"
    );

  "openFirewall = false opens no port" =
    let
      config = fromPlanFile { services.hortus.openFirewall = false; };
    in
    accepted config (config.networking.firewall.allowedUDPPorts == [ ]);

  "trustInterfaces = false accepts only Babel (the plan's babel_udp_port, 6696) on the mesh interfaces" =
    let
      config = fromPlanFile { services.hortus.trustInterfaces = false; };
    in
    equal {
      inherit (config.networking.firewall) trustedInterfaces;
      interfaces = builtins.mapAttrs (_: i: i.allowedUDPPorts) config.networking.firewall.interfaces;
      port = expectedHostPlan.node.firewall.babel_udp_port;
    } {
      trustedInterfaces = [ ];
      interfaces = lib.genAttrs expectedHostPlan.node.firewall.mesh_interfaces (_: [ 6696 ]);
      port = 6696;
    };

  "sysctl: IPv6 forwarding, rp_filter 0 on every mesh interface" =
    accepted byPlanFile (
      byPlanFile.boot.kernel.sysctl."net.ipv6.conf.all.forwarding" == 1
      && builtins.all (i: byPlanFile.boot.kernel.sysctl."net.ipv4.conf.${i}.rp_filter" == 0) interfaces
    );

  "sysctl: boot.kernel.sysctl is `hortus render`'s sysctl.d/60-hortus.conf (the plan's node.sysctl), key for key" =
    equal (definedSysctl byPlanFile) renderedSysctl;

  "sysctl + IPv4 overlay: `hortus render`'s sysctl.d/60-hortus.conf (all.rp_filter 0 included)" =
    equal (definedSysctl (fromPlanFile ipv4)) renderedIpv4Sysctl;

  "presharedKeyFile: every WireGuard peer gets it, the private key stays a path" =
    let
      config = fromPlanFile { services.hortus.presharedKeyFile = "/run/agenix/hortus-psk"; };
      wireguard = builtins.filter (n: n.wireguardPeers != [ ]) (builtins.attrValues config.systemd.network.netdevs);
    in
    accepted config (
      builtins.length wireguard == builtins.length interfaces
      && builtins.all (
        n: n.wireguardConfig.PrivateKeyFile == keyFile && (builtins.head n.wireguardPeers).PresharedKeyFile == "/run/agenix/hortus-psk"
      ) wireguard
    );

  "the plan's warnings become NixOS warnings" =
    let
      config = fromPlanFile {
        services.hortus.planFile = lib.mkForce (planWith (p: p // { warnings = [ "pair `a`–`b` uses well-known port 1002" ]; }));
      };
    in
    equal config.warnings [ "hortus: pair `a`–`b` uses well-known port 1002" ];

  "a Babel MAC key file turns BIRD's build-time config check off" =
    let
      config = fromPlanFile {
        services.hortus.planFile = lib.mkForce (
          planWith (p: p // { mesh = p.mesh // { babel = p.mesh.babel // { mac_key_file = "/run/agenix/babel-mac"; }; }; })
        );
      };
    in
    accepted config (!config.services.bird.checkConfig);

  "refused: neither inventory nor planFile" = refuses "set exactly one of `inventory`" (evalHost {
    services.hortus = {
      enable = true;
      privateKeyFile = keyFile;
    };
  });

  "refused: both inventory and planFile" = refuses "set exactly one of `inventory`" (fromPlanFile {
    services.hortus.inventory = inventory;
  });

  "refused: a host that is not in the plan" = refuses "hostName = \"nyarlathotep\" is not a node of the plan (nodes: abhoth, azasos, eihort, hastur, kaambl, yidhra)" (fromPlanFile {
    services.hortus.hostName = "nyarlathotep";
  });

  "refused: a host view of another host" = refuses "hostName = \"hastur\" is not a node of the plan (nodes: ${host})" (fromPlanFile {
    services.hortus.planFile = lib.mkForce hostPlanFile;
    services.hortus.hostName = "hastur";
  });

  "forwarder: a hardened phantun service per phantun link of the plan, with `hortus render --format forwarder`'s command line" =
    let
      services = lib.filterAttrs (n: _: lib.hasPrefix "hortus-phantun-" n) byPlanFile.systemd.services;
      toHastur = services."hortus-phantun-hastur" or { serviceConfig = { }; };
      links = builtins.filter (l: l.forwarder != null) expectedHostPlan.node.links;
    in
    accepted byPlanFile (
      lib.attrNames services == lib.sort (a: b: a < b) (map (l: "hortus-phantun-${l.peer}") links)
      && toHastur.serviceConfig.ExecStart
        == "${phantunStandIn}/bin/client --local 127.0.0.1:51814 --remote 198.51.100.10:51814 --tun ph-hastur --tun-local 10.237.0.2 --tun-peer 10.237.0.3 --tun-local6 fcc8::2 --tun-peer6 fcc8::3"
      # A client dialling a DNS name runs under `hortus forwarder-client`.
      && (services."hortus-phantun-eihort".serviceConfig.ExecStart or null)
        == "${byPlanFile.services.hortus.package}/bin/hortus forwarder-client --underlay ipv4 --prefer ipv6 --switch-after-s 30 -- ${phantunStandIn}/bin/client --local 127.0.0.1:51825 --remote eihort.example.net:51825 --tun ph-eihort --tun-local 10.237.0.6 --tun-peer 10.237.0.7 --ipv4-only"
      && toHastur.serviceConfig.AmbientCapabilities == "CAP_NET_ADMIN"
      && toHastur.serviceConfig.CapabilityBoundingSet == "CAP_NET_ADMIN"
      && toHastur.serviceConfig.Restart == "always"
      && toHastur.environment.RUST_LOG or null == "info"
      && lib.elem "systemd-networkd.service" toHastur.after
    );

  "forwarder: nftables firewall gets the NAT table and opens the server's TCP port" =
    let
      config = fromPlanFile { networking.nftables.enable = true; };
      table = config.networking.nftables.tables.hortus_forwarder or { content = ""; };
    in
    accepted config (
      table.family == "inet"
      && lib.hasInfix "tcp dport 51832 dnat ip to 10.237.0.9" table.content
      && lib.hasInfix "tcp dport 51832 dnat ip6 to fcc8::9" table.content
      && lib.hasInfix "iifname \"ph-hastur\" masquerade" table.content
      && config.networking.firewall.allowedTCPPorts == [ 51832 ]
      && config.networking.firewall.allowedTCPPorts == expectedHostPlan.node.firewall.tcp_ports
      && config.networking.firewall.extraCommands == ""
    );

  "forwarder: with forward filtering, the plan's firewall.forward_accept (and the perimeter's) as nftables accept rules" =
    let
      config = fromPlanFile {
        networking.nftables.enable = true;
        networking.firewall.filterForward = true;
      };
      nonEmpty = text: lib.filter (l: l != "") (lib.splitString "\n" text);
      lines = nonEmpty config.networking.firewall.extraForwardRules;
      perimeter = nonEmpty (mapping.nftablesPerimeterAccept expectedHostPlan);
      mesh = "{ ${lib.concatMapStringsSep ", " (i: "\"${i}\"") expectedHostPlan.node.firewall.mesh_interfaces} }";
    in
    accepted config (
      lib.length lines == lib.length expectedHostPlan.node.firewall.forward_accept + lib.length perimeter
      && lib.elem "iifname ${mesh} oifname ${mesh} accept" lines
      && lib.elem "oifname \"ph-yidhra\" tcp dport 51832 accept" lines
      && lib.elem "iifname \"ph-yidhra\" accept" lines
      && lib.elem "iifname \"ph-hastur\" accept" lines
    );

  "perimeter: table hortus_firewall (nftables backend), or the hortus-firewall service loading the same rules with nft (iptables)" =
    let
      nft = fromPlanFile { networking.nftables.enable = true; };
      ipt = fromPlanFile { };
      table = nft.networking.nftables.tables.hortus_firewall or { content = ""; };
      service = ipt.systemd.services.hortus-firewall or { };
    in
    accepted nft (
      table.family == "inet"
      && table.content == mapping.nftablesFirewallTable expectedHostPlan
      && lib.hasInfix "tcp option maxseg size set rt mtu" table.content
      && !(nft.systemd.services ? hortus-firewall)
      && lib.hasInfix "/bin/nft -f " (service.serviceConfig.ExecStart or "")
    );

  "perimeter: off, no table and no service" =
    let
      config = fromPlanFile {
        networking.nftables.enable = true;
        services.hortus.perimeter = false;
      };
    in
    accepted config (!(config.networking.nftables.tables ? hortus_firewall) && !(config.systemd.services ? hortus-firewall));

  "forwarder: the nftables table is `hortus render --format forwarder`'s table hortus_forwarder, byte for byte" =
    let
      config = fromPlanFile { networking.nftables.enable = true; };
    in
    equal (config.networking.nftables.tables.hortus_forwarder.content or null) (builtins.readFile nftBodyFile);

  "forwarder: the iptables commands are the plan's nat_rules, one to one (two per rule: iptables and ip6tables)" =
    let
      lines = lib.filter (lib.hasInfix " -A hortus-fwd-") (lib.splitString "\n" byPlanFile.networking.firewall.extraCommands);
      expected = lib.concatMap (
        r:
        if r.action == "dnat" then
          map (
            x:
            "${x.cmd} -t nat -A hortus-fwd-pre ! -i ${r.except_interface} -p tcp --dport ${toString r.port} -m addrtype --dst-type LOCAL -j DNAT --to-destination ${x.to}"
          ) [
            {
              cmd = "iptables";
              inherit (r) to;
            }
            {
              cmd = "ip6tables";
              to = r.to6;
            }
          ]
        else
          [
            "iptables -t nat -A hortus-fwd-post -s ${r.from} -j MASQUERADE"
            "ip6tables -t nat -A hortus-fwd-post -s ${r.from6} -j MASQUERADE"
          ]
      ) expectedHostPlan.node.nat_rules;
    in
    equal (lib.sort lib.lessThan lines) (lib.sort lib.lessThan expected);

  "forwarder: iptables firewall gets the same rules in chains of its own" =
    let
      fw = byPlanFile.networking.firewall;
    in
    accepted byPlanFile (
      lib.hasInfix "iptables -t nat -A hortus-fwd-pre ! -i ph-yidhra -p tcp --dport 51832 -m addrtype --dst-type LOCAL -j DNAT --to-destination 10.237.0.9" fw.extraCommands
      && lib.hasInfix "iptables -t nat -A hortus-fwd-post -s 10.237.0.3 -j MASQUERADE" fw.extraCommands
      && lib.hasInfix "ip6tables -t nat -X hortus-fwd-post" fw.extraStopCommands
      && !(byPlanFile.networking.nftables.tables ? hortus_forwarder)
    );

  "forwarder.enable = false runs no phantun and opens no TCP port" =
    let
      config = fromPlanFile { services.hortus.forwarder.enable = false; };
    in
    accepted config (
      !(lib.any (lib.hasPrefix "hortus-phantun-") (lib.attrNames config.systemd.services))
      && config.networking.firewall.allowedTCPPorts == [ ]
    );

  "refused: a plan of another format version" = refuses "the plan has version 99, this module reads version ${toString mapping.planVersion}" (fromPlanFile {
    services.hortus.planFile = lib.mkForce (planWith (p: p // { version = 99; }));
  });

  "refused: no privateKeyFile" = refuses "services.hortus.privateKeyFile is not set" (fromPlanFile {
    services.hortus.privateKeyFile = null;
  });

  "refused: a privateKeyFile in the Nix store" = refuses "is in the Nix store, which is world-readable" (fromPlanFile {
    services.hortus.privateKeyFile = "${builtins.storeDir}/0000-wg.key";
  });

  "refused: a relative presharedKeyFile" = refuses "presharedKeyFile = \"keys/psk\" is not an absolute path" (fromPlanFile {
    services.hortus.presharedKeyFile = "keys/psk";
  });

  "refused: systemd-networkd disabled" = refuses "systemd.network.enable is false" (fromPlanFile {
    systemd.network.enable = lib.mkForce false;
  });

  "refused: planFile without the routing daemon's config file" = refuses "set babeldConfigFile to the output of `hortus render" (fromPlanFile {
    services.hortus.routingDaemon = "babeld";
  });

  "importing the module as a function (the flake output) and as a path is one module" =
    let
      config = fromPlanFile { imports = [ (import ../../nix/module.nix) ]; };
    in
    accepted config (config.services.hortus.plan == expectedHostPlan);

  "disabled: the module sets nothing" =
    let
      config = evalHost { services.hortus.privateKeyFile = keyFile; };
    in
    equal {
      inherit (config.systemd.network) enable netdevs networks;
      assertions = map (a: a.message) config.assertions;
      bird = config.services.bird.enable;
    } {
      enable = false;
      netdevs = { };
      networks = { };
      # Only the stand-in iptables firewall's own.
      assertions = [ "This kernel does not support rpfilter" ];
      bird = false;
    };

  # Together with nixpkgs' own modules (their definitions in ./nixos-stubs.nix).
  "babeld: nixpkgs' babeld.nix and hortus define IPv6 forwarding once (sysctl keys are unique)" =
    let
      config = fromPlanFile babeld;
    in
    equal (renderedKeys renderedSysctl config) renderedSysctl;

  "babeld + IPv4 overlay: IPv4 forwarding defined once too" =
    let
      config = fromPlanFile {
        imports = [
          babeld
          ipv4
        ];
      };
    in
    equal (renderedKeys renderedIpv4Sysctl config) renderedIpv4Sysctl;

  "BIRD + IPv4 overlay: IPv4 forwarding, all.rp_filter 0 (the kernel takes the larger of all and the interface)" =
    let
      config = fromPlanFile ipv4;
    in
    accepted config (
      renderedKeys renderedIpv4Sysctl config == renderedIpv4Sysctl
      && config.boot.kernel.sysctl."net.ipv4.conf.all.rp_filter" == 0
    );

  "babeld + IPv4 overlay: babeld.nix's all.rp_filter and hortus' agree" =
    let
      config = fromPlanFile {
        imports = [
          babeld
          ipv4
        ];
      };
    in
    accepted config (config.boot.kernel.sysctl."net.ipv4.conf.all.rp_filter" == 0);

  "iptables firewall, kernel without the rpfilter match: checkReversePath is nixpkgs' false, no failed assertion" =
    let
      config = fromPlanFile noRPFilter;
    in
    accepted config (config.networking.firewall.checkReversePath == false);

  "nftables firewall: checkReversePath is loose" =
    let
      config = fromPlanFile { networking.nftables.enable = true; };
    in
    accepted config (config.networking.firewall.checkReversePath == "loose");

  "a user's checkReversePath wins over hortus' loose" =
    let
      config = fromPlanFile { networking.firewall.checkReversePath = false; };
    in
    accepted config (config.networking.firewall.checkReversePath == false);

  "IPv6 forwarding: hortus' definition wins over a plain one (babeld.nix's priority)" =
    let
      config = fromPlanFile { boot.kernel.sysctl."net.ipv6.conf.all.forwarding" = 0; };
    in
    accepted config (config.boot.kernel.sysctl."net.ipv6.conf.all.forwarding" == 1);

  "refused: IPv6 forwarding forced off" =
    refuses "needs boot.kernel.sysctl.\"net.ipv6.conf.all.forwarding\" = 1, but a stronger definition (e.g. mkForce) sets it to 0." (fromPlanFile {
      boot.kernel.sysctl."net.ipv6.conf.all.forwarding" = lib.mkForce 0;
    });
}

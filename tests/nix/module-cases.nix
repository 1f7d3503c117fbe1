# services.hortus under nixpkgs' lib.evalModules (with ./nixos-stubs.nix),
# one named case each: `{ ok = bool; detail = what was seen; }`. run.sh
# prints one line per case. The inventory-mode cases run hortus through
# `pkgs` (./stub-pkgs.nix: needs --read-write-mode and sandbox off).
{
  lib,
  pkgs,
  # The six-node inventory, its fresh plan, and what the hortus under test
  # prints for host `host`: plan --host, render --format bird / babeld.
  inventory,
  planFile,
  host,
  hostPlanFile,
  birdFile,
  babeldFile,
}:
let
  inherit (import ./module-eval.nix { inherit lib pkgs; }) evalHost;
  mapping = import ../../nix/lib.nix;

  keyFile = "/run/agenix/hortus-wireguard";
  plan = builtins.fromJSON (builtins.readFile planFile);
  expectedHostPlan = builtins.fromJSON (builtins.readFile hostPlanFile);
  standIn = builtins.toFile "stand-in.conf" "# stand-in\n";

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

  byInventory = fromInventory { };
  byPlanFile = fromPlanFile { };
  interfaces = mapping.interfaces expectedHostPlan;
in
{
  "inventory (IFD): the plan option is `hortus plan --host`" = equal byInventory.services.hortus.plan expectedHostPlan;

  "inventory (IFD): services.bird.config is `hortus render --format bird` and bird.extraConfig" =
    let
      config = fromInventory { services.hortus.bird.extraConfig = "protocol static extra { ipv6; }"; };
    in
    equal config.services.bird.config (builtins.readFile birdFile + "\nprotocol static extra { ipv6; }");

  "inventory (IFD): networkd units equal the planFile mode's" = equal {
    inherit (byInventory.systemd.network) netdevs networks;
  } { inherit (byPlanFile.systemd.network) netdevs networks; };

  "inventory (IFD): babeld gets `hortus render --format babeld` (NixOS pid/state paths), BIRD stays off" =
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

  "planFile: firewall opens the plan's UDP ports and trusts the mesh interfaces" =
    accepted byPlanFile (
      byPlanFile.networking.firewall.allowedUDPPorts == expectedHostPlan.node.firewall_udp_ports
      && byPlanFile.networking.firewall.trustedInterfaces == interfaces
      && byPlanFile.networking.firewall.checkReversePath == "loose"
    );

  "openFirewall = false opens no port" =
    let
      config = fromPlanFile { services.hortus.openFirewall = false; };
    in
    accepted config (config.networking.firewall.allowedUDPPorts == [ ]);

  "trustInterfaces = false accepts only Babel on the mesh interfaces" =
    let
      config = fromPlanFile { services.hortus.trustInterfaces = false; };
    in
    equal {
      inherit (config.networking.firewall) trustedInterfaces;
      interfaces = builtins.mapAttrs (_: i: i.allowedUDPPorts) config.networking.firewall.interfaces;
    } {
      trustedInterfaces = [ ];
      interfaces = lib.genAttrs interfaces (_: [ 6696 ]);
    };

  "sysctl: IPv6 forwarding, rp_filter 0 on every mesh interface" =
    accepted byPlanFile (
      byPlanFile.boot.kernel.sysctl."net.ipv6.conf.all.forwarding" == 1
      && builtins.all (i: byPlanFile.boot.kernel.sysctl."net.ipv4.conf.${i}.rp_filter" == 0) interfaces
    );

  "presharedKeyFile: every WireGuard peer gets it, the private key stays a path" =
    let
      config = fromPlanFile { services.hortus.presharedKeyFile = "/run/agenix/hortus-psk"; };
      wireguard = builtins.filter (n: n ? wireguardPeers) (builtins.attrValues config.systemd.network.netdevs);
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

  "refused: a plan of another format version" = refuses "the plan has version 99, this module reads version 1" (fromPlanFile {
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
      inherit (config) assertions;
      bird = config.services.bird.enable;
    } {
      enable = false;
      netdevs = { };
      networks = { };
      assertions = [ ];
      bird = false;
    };
}

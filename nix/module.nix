# The NixOS module: `services.hortus`. It maps this host's part of a hortus
# plan onto systemd-networkd netdevs and networks, the firewall, sysctls and
# the routing daemon (BIRD 3 or babeld) with the config `hortus render`
# writes. The mapping itself lives in ./lib.nix. Nix maps, never decides:
# every value comes from a plan field or a rendered file; what is left here
# is NixOS plumbing (option priorities, assertions) and the one default noted
# at `net.ipv4.conf.all.rp_filter` below.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib)
    concatStringsSep
    literalExpression
    literalMD
    mkDefault
    mkEnableOption
    mkIf
    mkMerge
    mkOption
    mkOverride
    types
    ;

  cfg = config.services.hortus;
  mapping = import ./lib.nix;
  run = import ./run.nix;

  # Where NixOS' babeld service lets babeld write.
  babeldPidFile = "/run/babeld/babeld.pid";
  babeldStateFile = "/var/lib/babeld/state";
  # babeld's read-only local socket, where `hortus status` reads it.
  babeldLocalPath = "/run/babeld/babeld.sock";

  nftablesBackend = config.networking.firewall.backend == "nftables";

  usesInventory = cfg.inventory != null;
  usesPlanFile = cfg.planFile != null;
  sourceSet = usesInventory != usesPlanFile;

  # The whole plan (or a host view, when the committed file is one).
  sourcePlan =
    if usesPlanFile then
      builtins.fromJSON (builtins.readFile cfg.planFile)
    else
      run.mkPlan {
        inherit (pkgs) runCommand;
        hortus = cfg.package;
        inherit (cfg) inventory;
      };

  versionOk = sourceSet && (sourcePlan.version or null) == mapping.planVersion;
  hostKnown = versionOk && mapping.hasHost sourcePlan cfg.hostName;
  # null until the plan is usable; the assertions say why.
  hostPlan = if hostKnown then mapping.hostView sourcePlan cfg.hostName else null;

  # The routing daemon's config text: a committed file, else `hortus render`
  # (with babeld's pid and state files where NixOS' babeld service may
  # write: its RuntimeDirectory and StateDirectory).
  daemonConfig =
    format: file:
    if file != null then
      builtins.readFile file
    else if usesInventory then
      builtins.readFile (
        run.renderFile {
          inherit (pkgs) runCommand;
          hortus = cfg.package;
          inherit (cfg) inventory;
          host = cfg.hostName;
          inherit format;
          args = lib.optionals (format == "babeld") [
            "--babeld-pid-file"
            babeldPidFile
            "--babeld-state-file"
            babeldStateFile
            "--babeld-local-path"
            babeldLocalPath
          ];
        }
      )
    else
      null;
  birdConfig = daemonConfig "bird" cfg.birdConfigFile;
  babeldConfig = daemonConfig "babeld" cfg.babeldConfigFile;
  daemonConfigFile = if cfg.routingDaemon == "bird" then cfg.birdConfigFile else cfg.babeldConfigFile;

  keyProblems = lib.filter (p: p != null) [
    (if cfg.privateKeyFile == null then null else mapping.keyFileProblem "services.hortus.privateKeyFile" cfg.privateKeyFile)
    (if cfg.presharedKeyFile == null then null else mapping.keyFileProblem "services.hortus.presharedKeyFile" cfg.presharedKeyFile)
  ];

  # A sysctl key is unique per priority (nixpkgs' sysctl type merges with
  # mergeOneOption): babeld.nix defines both forwarding keys plainly (100),
  # nat.nix, docker.nix, tailscale.nix and others with mkOverride 97–99,
  # network-interfaces.nix with mkDefault. hortus takes a priority of its
  # own that beats the plain ones; mkForce still overrides it, and the
  # assertion below then says what the mesh needs.
  forwardingPriority = mkOverride 95;
  forwardingOn = name: lib.elem (config.boot.kernel.sysctl.${name} or null) [ 1 true "1" ];
  forwardingKeys = lib.filter (lib.hasSuffix ".forwarding") (
    lib.attrNames (if hostPlan == null then { } else mapping.sysctl hostPlan)
  );
in
{
  # Name the file in error messages, and make importing the flake's
  # nixosModules.hortus and this path together one module.
  _file = ./module.nix;
  key = toString ./module.nix;

  # Sibling modules, one part of the plan each (they read
  # config.services.hortus.plan and set nothing while it is null). Every
  # NixOS option they set must be declared, with nixpkgs' type, in
  # tests/nix/nixos-stubs.nix; tests/nix/nixos/run.sh evaluates them whole.
  imports = [
    ./endpoints.nix
    ./failover.nix
    ./forwarder.nix
    ./hosts.nix
    ./reconcile.nix
  ];

  options.services.hortus = {
    enable = mkEnableOption "the hortus WireGuard + Babel full mesh on this host";

    package = mkOption {
      type = types.package;
      default = pkgs.hortus or (pkgs.callPackage ./package.nix { });
      defaultText = literalExpression "pkgs.hortus or (pkgs.callPackage \"\${hortus}/nix/package.nix\" { })";
      description = ''
        The hortus package. With {option}`services.hortus.inventory` it runs
        while the configuration is evaluated: `hortus plan` and
        `hortus render` (import from derivation).
      '';
    };

    inventory = mkOption {
      type = types.nullOr (types.either types.path (types.attrsOf types.anything));
      default = null;
      example = literalExpression ''
        {
          mesh.prefix = "fdcc::/64";
          nodes.alpha = { id = 0; public_key = "..."; endpoints = [ "198.51.100.1" ]; };
          nodes.beta = { id = 1; public_key = "..."; nat = true; };
        }
      '';
      description = ''
        The mesh inventory, the same for every host: an attribute set (the
        JSON form of `hortus.toml`) or a path to a TOML or `.json` file.
        hortus computes the plan from it while the configuration is evaluated,
        which needs import from derivation (IFD). Without IFD, commit the
        plan and use {option}`services.hortus.planFile` instead.
        Exactly one of the two must be set.
      '';
    };

    planFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = literalExpression "./hortus-plan.json";
      description = ''
        A plan committed next to the configuration, written by
        `hortus plan hortus.toml -o hortus-plan.json` (the whole plan, or one
        host's view with `--host`). Read at evaluation time without running
        anything (no IFD). The routing daemon's config then comes from
        {option}`services.hortus.birdConfigFile` or
        {option}`services.hortus.babeldConfigFile`.
      '';
    };

    hostName = mkOption {
      type = types.str;
      default = config.networking.hostName;
      defaultText = literalExpression "config.networking.hostName";
      description = "This host's node name in the inventory.";
    };

    privateKeyFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = literalExpression "config.age.secrets.hortus-wireguard.path";
      description = ''
        Absolute path, on the host, of this host's WireGuard private key file
        (as written by `hortus keygen` or `wg genkey`), readable by the
        `systemd-network` user, e.g. from agenix, sops-nix or vaultix. A
        string, never a Nix path (which would copy the key into the
        world-readable store) and never the key itself.
      '';
    };

    presharedKeyFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/run/agenix/hortus-psk";
      description = ''
        Optional absolute path of a WireGuard preshared key file used on every
        link of this host (the peers must use the same key). Same rules as
        {option}`services.hortus.privateKeyFile`.
      '';
    };

    routingDaemon = mkOption {
      type = types.enum [
        "bird"
        "babeld"
      ];
      default = if hostPlan != null then hostPlan.mesh.routing else "bird";
      defaultText = literalExpression "config.services.hortus.plan.mesh.routing";
      description = "The daemon that speaks Babel: BIRD 3 ({option}`services.bird`) or babeld.";
    };

    bird.extraConfig = mkOption {
      type = types.lines;
      default = "";
      example = ''
        protocol static { ipv6; route 2001:db8::/48 via "anchor-0"; }
      '';
      description = "Text appended to the rendered BIRD configuration.";
    };

    birdConfigFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = literalExpression "./hortus/alpha/bird.conf";
      description = ''
        A committed `hortus render hortus.toml --host NAME --format bird`
        output. Required with {option}`services.hortus.planFile` when the
        routing daemon is BIRD; with {option}`services.hortus.inventory` it
        overrides the config hortus renders.
      '';
    };

    babeldConfigFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = literalExpression "./hortus/alpha/babeld.conf";
      description = ''
        A committed `hortus render hortus.toml --host NAME --format babeld`
        output; as {option}`services.hortus.birdConfigFile`, for babeld.
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Open the ports the plan's `node.firewall` lists: `udp_ports`, where
        this host's WireGuard interfaces listen, and, with the phantun
        services ({option}`services.hortus.forwarder.enable`), `tcp_ports`.
        `external_forwarder_ports` (forwarders hortus does not run,
        `mesh.forwarder = "none"`) are left to you.
      '';
    };

    trustInterfaces = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Add the mesh's WireGuard interfaces (the plan's
        `node.firewall.mesh_interfaces`) to
        {option}`networking.firewall.trustedInterfaces`. When false, only
        Babel (UDP `node.firewall.babel_udp_port`, 6696) is accepted on them.
      '';
    };

    perimeter = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Load the mesh's boundary, nftables table `hortus_firewall` (the
        plan's `node.firewall.perimeter` and its `masquerade_subnets` /
        `masquerade_exit` NAT rules; the same table as
        `hortus render --format firewall`): forwarding between the mesh and
        the node's subnets, out of an exit's uplink, nothing else across
        the boundary but replies; TCP MSS clamped into the mesh; mesh
        traffic masqueraded into subnets and out of exits. With the
        nftables firewall backend it is one of
        {option}`networking.nftables.tables` (and, when
        {option}`networking.firewall.filterForward` is on, the traffic it
        lets through is accepted in {option}`networking.firewall.extraForwardRules`);
        with iptables, the `hortus-firewall` service loads it with `nft`.
      '';
    };

    sourcePlan = mkOption {
      type = types.nullOr (types.attrsOf types.anything);
      readOnly = true;
      internal = true;
      default = if hostKnown then sourcePlan else null;
      description = ''
        The plan {option}`services.hortus.plan` is cut from: the whole mesh's
        (from the inventory, or a committed whole plan), or a committed host
        view. For the sibling modules that need every node (host names).
      '';
    };

    plan = mkOption {
      type = types.nullOr (types.attrsOf types.anything);
      readOnly = true;
      default = hostPlan;
      defaultText = literalMD "the output of `hortus plan INVENTORY --host HOSTNAME`";
      description = ''
        This host's view of the plan, as `hortus plan INVENTORY --host NAME`
        prints it (see docs/plan-format.md); null when the plan cannot be
        read (the assertions say why). Read-only: inspect it with
        `nix eval .#nixosConfigurations.NAME.config.services.hortus.plan --json`,
        or use it elsewhere, e.g. `plan.node.firewall.external_forwarder_ports`.
      '';
    };
  };

  config = mkIf cfg.enable (mkMerge [
    {
      assertions = [
        {
          assertion = sourceSet;
          message = "services.hortus: set exactly one of `inventory` (hortus computes the plan during evaluation, with IFD) or `planFile` (a committed `hortus plan` output, no IFD).";
        }
        {
          assertion = !sourceSet || versionOk;
          message = "services.hortus: the plan has version ${
            toString (sourcePlan.version or "none")
          }, this module reads version ${toString mapping.planVersion}; regenerate it with `hortus plan` from the same hortus as this module.";
        }
        {
          assertion = !versionOk || hostKnown;
          message = "services.hortus.hostName = \"${cfg.hostName}\" is not a node of the plan (nodes: ${concatStringsSep ", " (mapping.hostNames sourcePlan)}); set services.hortus.hostName or add the host to the inventory.";
        }
        {
          assertion = cfg.privateKeyFile != null;
          message = "services.hortus.privateKeyFile is not set: give the absolute path of this host's WireGuard private key file (e.g. config.age.secrets.hortus-wireguard.path), readable by systemd-network.";
        }
        {
          assertion = keyProblems == [ ];
          message = "services.hortus: ${concatStringsSep "; " keyProblems}.";
        }
        {
          assertion = config.systemd.network.enable;
          message = "services.hortus configures its WireGuard interfaces with systemd-networkd, but systemd.network.enable is false; enable it (or networking.useNetworkd).";
        }
        {
          assertion = usesInventory || daemonConfigFile != null;
          message = "services.hortus: with planFile and routingDaemon = \"${cfg.routingDaemon}\", set ${cfg.routingDaemon}ConfigFile to the output of `hortus render INVENTORY --host ${cfg.hostName} --format ${cfg.routingDaemon}` (or use inventory, and hortus renders it).";
        }
      ];
    }

    (mkIf (hostPlan != null) {
      assertions = map (name: {
        assertion = forwardingOn name;
        message = "services.hortus: this host routes for the mesh and needs boot.kernel.sysctl.\"${name}\" = 1, but a stronger definition (e.g. mkForce) sets it to ${
          builtins.toJSON (config.boot.kernel.sysctl.${name} or null)
        }.";
      }) forwardingKeys;

      warnings = map (warning: "hortus: ${warning}") hostPlan.warnings;

      systemd.network = {
        enable = mkDefault true;
        netdevs = mkIf (cfg.privateKeyFile != null) (
          mapping.netdevs {
            inherit hostPlan;
            inherit (cfg) privateKeyFile presharedKeyFile;
          }
        );
        networks = mapping.networks hostPlan;
      };

      # The plan's `node.sysctl`, key for key (= sysctl.d/60-hortus.conf).
      # Only the priorities are NixOS': forwarding above babeld.nix's plain
      # definitions (see forwardingPriority), `all.rp_filter` a default that
      # any other module's setting overrides.
      boot.kernel.sysctl = lib.mapAttrs (
        name: value:
        if lib.hasSuffix ".forwarding" name then
          forwardingPriority value
        else if name == "net.ipv4.conf.all.rp_filter" then
          mkDefault value
        else
          value
      ) (mapping.sysctl hostPlan);

      networking.firewall = {
        allowedUDPPorts = mkIf cfg.openFirewall (mapping.firewall hostPlan).allowedUDPPorts;
        trustedInterfaces = mkIf cfg.trustInterfaces (mapping.firewall hostPlan).trustedInterfaces;
        interfaces = mkIf (!cfg.trustInterfaces) (mapping.babelOnlyInterfaces hostPlan);
        # The plan's `firewall.reverse_path` ("loose": Babel picks each
        # direction's path on its own). Below mkDefault, so that nixpkgs' own
        # `mkDefault false` (the iptables firewall on a kernel without the
        # rpfilter match) and any user setting win, above the option's
        # default (true, strict).
        checkReversePath = mkOverride 1100 hostPlan.node.firewall.reverse_path;
      };

      networking.nftables.tables.hortus_firewall = mkIf (cfg.perimeter && nftablesBackend) {
        family = "inet";
        content = mapping.nftablesFirewallTable hostPlan;
      };
      networking.firewall.extraForwardRules = mkIf (
        cfg.perimeter && nftablesBackend && config.networking.firewall.filterForward
      ) (mapping.nftablesPerimeterAccept hostPlan);
      # The iptables backend: the same table, loaded with nft (hortus-render's
      # hortus-firewall.service).
      systemd.services.hortus-firewall = mkIf (cfg.perimeter && !nftablesBackend) {
        description = "hortus: the mesh's perimeter (nftables)";
        wantedBy = [ "multi-user.target" ];
        before = [ "network-pre.target" ];
        wants = [ "network-pre.target" ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = "${pkgs.nftables}/bin/nft -f ${pkgs.writeText "hortus-firewall.nft" (mapping.nftablesFirewallRuleset hostPlan)}";
          ExecStop = "${pkgs.nftables}/bin/nft delete table inet hortus_firewall";
        };
      };

      services.bird = mkIf (cfg.routingDaemon == "bird" && birdConfig != null) {
        enable = true;
        config = birdConfig + lib.optionalString (cfg.bird.extraConfig != "") "\n${cfg.bird.extraConfig}";
        # The config includes the Babel MAC key file, which exists only on
        # the host, not in the build sandbox where the config is checked.
        checkConfig = mkIf (hostPlan.mesh.babel.mac_key_file != null) (mkDefault false);
      };

      services.babeld = mkIf (cfg.routingDaemon == "babeld" && babeldConfig != null) {
        enable = true;
        extraConfig = babeldConfig;
      };
      systemd.services.babeld.serviceConfig = mkIf (cfg.routingDaemon == "babeld" && babeldConfig != null) {
        # babeld.nix allows netlink and IP sockets only; its local socket
        # (`local-path`, for `hortus status`) is a Unix one.
        RestrictAddressFamilies = [ "AF_UNIX" ];
        # A babeld back from a crash or power loss starts with a sequence
        # number ahead of what its peers remember (its own is written only
        # at a clean exit), so it is believed at once.
        ExecStartPre = [ "${cfg.package}/bin/hortus babeld-seqno --state-file ${babeldStateFile}" ];
      };
    })
  ]);
}

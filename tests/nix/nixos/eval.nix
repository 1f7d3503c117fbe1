# One whole NixOS system importing services.hortus: nixpkgs'
# nixos/lib/eval-config.nix with every default module, evaluated up to
# config.system.build.toplevel.drvPath. Called by ./run.sh:
#
#   nix-instantiate --eval --strict --json --read-write-mode \
#     -E '(import tests/nix/nixos/eval.nix { nixpkgs = ...; ... }).result'
{
  nixpkgs, # a nixpkgs tree whose module list has bird.nix, babeld.nix, firewall-*.nix
  hortus, # the hortus repository (nix/module.nix)
  gen, # directory: plan.json, <host>/bird.conf, <host>/babeld.conf (hortus plan / render)
  host,
  daemon ? "bird", # "bird" or "babeld"
  mode ? "planFile", # "planFile" or "inventory" (IFD)
  inventory ? null, # for mode = "inventory": the TOML inventory
  hortusBin ? null, # for mode = "inventory": the hortus binary, packaged with /bin/sh
  trustInterfaces ? true,
  firewall ? "iptables", # "iptables" or "nftables"
  rpfilter ? true, # false: a kernel without the iptables rpfilter match
  privateKeyFile ? "/run/keys/hortus-wireguard",
  extraModules ? [ ],
}:
let
  lib = import (nixpkgs + "/lib");

  # A derivation built by the host's /bin/sh, without stdenv (offline there
  # is no binary cache to substitute stdenv from).
  shDerivation =
    name: env: script:
    derivation (
      env
      // {
        inherit name;
        system = "x86_64-linux";
        builder = "/bin/sh";
        args = [
          "-c"
          script
        ];
        PATH = "/usr/bin:/bin";
      }
    );

  # mode = "inventory": hortus packaged from a prebuilt binary, and the
  # module's `hortus-*` runCommands (plan, render) run by /bin/sh.
  inventoryModule =
    { lib, ... }:
    {
      services.hortus.package = shDerivation "hortus" {
        bin = builtins.path {
          path = hortusBin;
          name = "hortus-bin";
        };
      } "mkdir -p $out/bin && cp $bin $out/bin/hortus && chmod +x $out/bin/hortus";
      nixpkgs.overlays = [
        (final: prev: {
          runCommand =
            name: env: script:
            if lib.hasPrefix "hortus-" name then shDerivation name env script else prev.runCommand name env script;
        })
      ];
    };

  sourceConfig =
    if mode == "planFile" then
      {
        planFile = gen + "/plan.json";
      }
      // (
        if daemon == "bird" then
          { birdConfigFile = gen + "/${host}/bird.conf"; }
        else
          { babeldConfigFile = gen + "/${host}/babeld.conf"; }
      )
    else
      { inherit inventory; };

  # A kernel without CONFIG_IP_NF_MATCH_RPFILTER: nixpkgs' iptables firewall
  # then defaults checkReversePath to false. (boot.kernelPackages' apply
  # re-overrides the kernel with boot.kernel.features merged in, so the
  # feature is turned off there; the config query survives.)
  noRPFilterModule =
    { pkgs, ... }:
    {
      boot.kernel.features.netfilterRPFilter = false;
      boot.kernelPackages = pkgs.linuxPackages.extend (
        self: super: {
          kernel = super.kernel // {
            config = super.kernel.config // {
              isEnabled = option: option != "IP_NF_MATCH_RPFILTER" && super.kernel.config.isEnabled option;
            };
          };
        }
      );
    };

  system = import (nixpkgs + "/nixos/lib/eval-config.nix") {
    system = "x86_64-linux";
    modules = [
      (hortus + "/nix/module.nix")
      {
        networking.hostName = host;
        system.stateVersion = "25.11";
        boot.loader.grub.enable = false;
        fileSystems."/" = {
          device = "/dev/sda1";
          fsType = "ext4";
        };
        networking.useNetworkd = true;
        networking.nftables.enable = firewall == "nftables";
        services.hortus = {
          enable = true;
          routingDaemon = daemon;
          inherit privateKeyFile trustInterfaces;
        }
        // sourceConfig;
      }
      {
        # services.hortus.forwarder.package: nixpkgs' phantun, or (the slim
        # tree has none) a stand-in whose store path is all the units need.
        nixpkgs.overlays = [
          (final: prev: {
            phantun = prev.phantun or (shDerivation "phantun" { } "mkdir -p $out/bin && touch $out/bin/client $out/bin/server");
          })
        ];
      }
    ]
    ++ lib.optional (mode == "inventory") inventoryModule
    ++ lib.optional (!rpfilter) noRPFilterModule
    ++ extraModules;
  };
  cfg = system.config;
in
{
  inherit system;
  # Everything ./check.py compares, in one evaluation.
  result = {
    plan = cfg.services.hortus.plan;
    units = builtins.mapAttrs (_: unit: unit.text) cfg.systemd.network.units;
    bird = {
      inherit (cfg.services.bird) enable;
      config = if cfg.services.bird.enable then cfg.services.bird.config else null;
    };
    babeld = {
      inherit (cfg.services.babeld) enable extraConfig;
    };
    firewall = {
      inherit (cfg.networking.firewall)
        enable
        backend
        allowedUDPPorts
        trustedInterfaces
        checkReversePath
        ;
      interfaces = builtins.mapAttrs (_: i: { inherit (i) allowedUDPPorts; }) cfg.networking.firewall.interfaces;
      nftables = cfg.networking.nftables.enable;
    };
    forwarder = {
      units = lib.mapAttrs (_: unit: unit.text) (
        lib.filterAttrs (name: _: lib.hasPrefix "hortus-phantun-" name) cfg.systemd.units
      );
      inherit (cfg.networking.firewall) allowedTCPPorts extraCommands;
      nftables = cfg.networking.nftables.tables.hortus_forwarder.content or null;
    };
    # The perimeter: nftables table hortus_firewall, or the service loading it.
    perimeter = {
      nftables = cfg.networking.nftables.tables.hortus_firewall.content or null;
      unit = cfg.systemd.units."hortus-firewall.service".text or null;
    };
    inherit (cfg.networking) hosts;
    # nix/reconcile.nix: the installed plan and the unit that applies it.
    reconcile = {
      plan = cfg.environment.etc."hortus/plan.json".text or null;
      unit = cfg.systemd.units."hortus-reconcile.service".text or null;
    };
    sysctl = lib.filterAttrs (n: v: lib.hasPrefix "net." n && v != null) cfg.boot.kernel.sysctl;
    # What nix/module.nix itself defines in boot.kernel.sysctl (not
    # babeld.nix and the others): its definitions, mkOverride/mkDefault unwrapped.
    hortusSysctl =
      let
        moduleFile = toString (hortus + "/nix/module.nix");
        unwrap = v: if builtins.isAttrs v && (v._type or null) == "override" then unwrap v.content else v;
      in
      lib.foldl' (acc: def: acc // lib.mapAttrs (_: unwrap) def.value) { } (
        builtins.filter (def: toString def.file == moduleFile) system.options.boot.kernel.sysctl.definitionsWithLocations
      );
    failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) cfg.assertions);
    inherit (cfg) warnings;
    toplevel = cfg.system.build.toplevel.drvPath;
  };
}

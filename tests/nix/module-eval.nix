# Evaluates services.hortus with nixpkgs' lib.evalModules and the stub
# option declarations in ./nixos-stubs.nix.
#
# Called with `planFile`, it returns every host's networkd, firewall and
# sysctl values in the shape of tests/nix/golden/<host>.json. `evalHost`
# evaluates one configuration given as a module, for the other checks.
{
  lib,
  planFile ? null,
  pkgs ? { },
  privateKeyFile ? "/run/keys/hortus-wireguard",
}:
let
  mapping = import ../../nix/lib.nix;

  # The evaluated `config` of one host built from `settings` (a module).
  evalHost =
    settings:
    (lib.evalModules {
      modules = [
        ../../nix/module.nix
        ./nixos-stubs.nix
        { _module.args.pkgs = pkgs; }
        settings
      ];
    }).config;

  # `config`, or a throw listing the failed assertions.
  checked =
    config:
    let
      failed = builtins.filter (a: !a.assertion) config.assertions;
    in
    if failed == [ ] then
      config
    else
      throw (builtins.concatStringsSep "\n" (map (a: a.message) failed));

  # A networkd unit as the module defined it: the stand-in's options left
  # at their defaults (enable, empty sections) dropped.
  defined = lib.mapAttrs (
    _: unit: lib.filterAttrs (n: v: n != "enable" && v != { } && v != [ ] && v != "" && v != null) unit
  );

  goldenShape = config: {
    netdevs = defined config.systemd.network.netdevs;
    networks = defined config.systemd.network.networks;
    firewall = { inherit (config.networking.firewall) allowedUDPPorts trustedInterfaces; };
    # Without the stand-in's declared keys left at null (rmem_max, wmem_max).
    sysctl = lib.filterAttrs (_: v: v != null) config.boot.kernel.sysctl;
  };

  plan = builtins.fromJSON (builtins.readFile planFile);
in
if planFile == null then
  { inherit evalHost checked defined; }
else
  builtins.listToAttrs (
    map (host: {
      name = host;
      value = goldenShape (
        checked (evalHost {
          services.hortus = {
            enable = true;
            inherit planFile privateKeyFile;
            hostName = host;
            birdConfigFile = builtins.toFile "bird.conf" "# stand-in\n";
            babeldConfigFile = builtins.toFile "babeld.conf" "# stand-in\n";
          };
        })
      );
    }) (mapping.hostNames plan)
  )

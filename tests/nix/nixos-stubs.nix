# Declarations of the NixOS options services.hortus reads and sets, so the
# module can be evaluated with nixpkgs' lib.evalModules alone (no nixpkgs
# checkout). Loose types: these stand in for NixOS' own declarations and
# only need to accept and merge what the module defines.
{ lib, ... }:
let
  inherit (lib) mkOption types;
  loose = default: mkOption {
    type = types.attrsOf types.anything;
    inherit default;
  };
  flag = mkOption {
    type = types.bool;
    default = false;
  };
  lines = mkOption {
    type = types.lines;
    default = "";
  };
  ports = mkOption {
    type = types.listOf types.port;
    default = [ ];
  };
in
{
  options = {
    assertions = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
    warnings = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    networking.hostName = mkOption {
      type = types.str;
      default = "nixos";
    };
    networking.firewall = {
      allowedUDPPorts = ports;
      trustedInterfaces = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      interfaces = mkOption {
        type = types.attrsOf (types.submodule { options.allowedUDPPorts = ports; });
        default = { };
      };
      checkReversePath = mkOption {
        type = types.either types.bool (
          types.enum [
            "strict"
            "loose"
          ]
        );
        default = true;
      };
    };
    boot.kernel.sysctl = loose { };
    systemd.network = {
      enable = flag;
      netdevs = mkOption {
        type = types.attrsOf (types.attrsOf types.anything);
        default = { };
      };
      networks = mkOption {
        type = types.attrsOf (types.attrsOf types.anything);
        default = { };
      };
    };
    services.bird = {
      enable = flag;
      config = lines;
      checkConfig = mkOption {
        type = types.bool;
        default = true;
      };
    };
    services.babeld = {
      enable = flag;
      extraConfig = lines;
    };
    # Set by nix/reconcile.nix.
    environment.etc = loose { };
    systemd.services = loose { };
  };
}

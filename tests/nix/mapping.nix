# Every host's NixOS values from nix/lib.nix for one plan file, as compared
# with tests/nix/golden/<host>.json and with `hortus render --format networkd`.
{
  planFile,
  privateKeyFile ? "/run/keys/hortus-wireguard",
  presharedKeyFile ? null,
}:
let
  mapping = import ../../nix/lib.nix;
  plan = builtins.fromJSON (builtins.readFile planFile);
in
builtins.listToAttrs (
  map (
    host:
    let
      hostPlan = mapping.hostView plan host;
    in
    {
      name = host;
      value = {
        netdevs = mapping.netdevs { inherit hostPlan privateKeyFile presharedKeyFile; };
        networks = mapping.networks hostPlan;
        firewall = mapping.firewall hostPlan;
        sysctl = mapping.sysctl hostPlan;
      };
    }
  ) (mapping.hostNames plan)
)

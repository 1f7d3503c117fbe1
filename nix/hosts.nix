# Host names for services.hortus: every mesh node's ULA (and IPv4 overlay
# address, when it has one) in networking.hosts as <node>.<domain>, the
# same lines `hortus render --format hosts` writes for other hosts.
#
# Every node needs the whole plan: the module's `sourcePlan` (from
# `inventory`, or from `planFile`). When `planFile` is one
# host's view, only this host and its linked peers are known (a skipped
# pair's other node is missing): commit the whole plan to name every node.
{ config, lib, ... }:

let
  inherit (lib) mkIf mkOption types;

  cfg = config.services.hortus;
  source = cfg.sourcePlan;

  # name -> { address; ipv4_address; } of every node the plan knows.
  nodes =
    if source ? nodes then
      lib.mapAttrs (_: n: { inherit (n) address ipv4_address; }) source.nodes
    else
      lib.listToAttrs (
        map (l: lib.nameValuePair l.peer {
          address = l.peer_address;
          ipv4_address = l.peer_ipv4_address;
        }) cfg.plan.node.links
      )
      // {
        ${cfg.plan.host} = { inherit (cfg.plan.node) address ipv4_address; };
      };

  entries = lib.foldl' (
    acc: name:
    let
      n = nodes.${name};
      host = "${name}.${cfg.hosts.domain}";
      addresses = [ n.address ] ++ lib.optional (n.ipv4_address != null) n.ipv4_address;
    in
    acc // lib.genAttrs addresses (a: (acc.${a} or [ ]) ++ [ host ])
  ) { } (lib.attrNames nodes);
in
{
  options.services.hortus.hosts = {
    enable = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Whether to name every mesh node's ULA (and IPv4 overlay address) in
        {option}`networking.hosts` as `<node>.<domain>`, the lines
        `hortus render --format hosts` writes.
      '';
    };
    domain = mkOption {
      type = types.strMatching "([[:alnum:]]([[:alnum:]-]{0,61}[[:alnum:]])?)(\\.[[:alnum:]]([[:alnum:]-]{0,61}[[:alnum:]])?)*";
      default = "hortus";
      example = "mesh.example.org";
      description = ''
        Domain of the mesh host names (a DNS name): node `hastur` becomes
        `hastur.<domain>`. `hortus render --format hosts --domain` takes the same.
      '';
    };
  };

  config = mkIf (cfg.enable && cfg.plan != null && cfg.hosts.enable) {
    networking.hosts = entries;
  };
}

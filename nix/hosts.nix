# Host names for services.hortus: every mesh node's ULA (and IPv4 overlay
# address, when it has one) in networking.hosts as <node>.<domain>, the
# same lines `hortus render --format hosts` writes for other hosts.
#
# The names come from the module's `sourcePlan` (from `inventory`, or from
# `planFile`): a whole plan's `nodes`, or a host view's own node, its links'
# peers and its skipped peers (`node.skipped`), which together are every node.
{ config, lib, ... }:

let
  inherit (lib) mkIf mkOption types;

  cfg = config.services.hortus;
  source = cfg.sourcePlan;

  # name -> { address; ipv4_address; } of every node the plan knows.
  peer = p: lib.nameValuePair p.peer {
    address = p.peer_address;
    ipv4_address = p.peer_ipv4_address;
  };
  nodes =
    if source ? nodes then
      lib.mapAttrs (_: n: { inherit (n) address ipv4_address; }) source.nodes
    else
      lib.listToAttrs (map peer (source.node.links ++ source.node.skipped))
      // {
        ${source.host} = { inherit (source.node) address ipv4_address; };
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

# Endpoints that change, for services.hortus: runs `hortus endpoints` as
# hortus-endpoints.service, which moves each link this host dials to its
# next endpoint candidate once the link has received nothing for the plan's
# mesh.endpoints.switch_after_s, re-resolving DNS names when it gets to one
# (a changed home IP, a broken address family). On by default when the
# plan says this host has something to switch (node.switches_endpoints).
# See README, "Dynamic addresses and dual stack".
{ config, lib, ... }:

let
  cfg = config.services.hortus;
  mapping = import ./lib.nix;
in
{
  options.services.hortus.endpoints.enable = lib.mkOption {
    type = lib.types.bool;
    default = cfg.plan != null && cfg.plan.node.switches_endpoints;
    defaultText = lib.literalExpression "config.services.hortus.plan.node.switches_endpoints";
    description = ''
      Run `hortus endpoints` (hortus-endpoints.service): a link this host
      dials that has received nothing for the plan's
      `mesh.endpoints.switch_after_s` moves to its next candidate (LAN
      endpoints of its region, then the preferred family, names re-resolved
      each time); a link that receives is never touched. The default follows
      the plan: on when a link this host dials has a DNS name or more than
      one candidate.
    '';
  };

  config = lib.mkIf (cfg.enable && cfg.plan != null && cfg.endpoints.enable) {
    systemd.services.hortus-endpoints = mapping.hostService {
      description = "Keep every hortus link this host dials on an endpoint that works";
      command = "${cfg.package}/bin/hortus endpoints";
      restartSec = 5;
      # A changed plan (/etc/hortus/plan.json, installed by reconcile.nix)
      # restarts it with the new candidates.
      inherit (config.systemd.services.hortus-reconcile) restartTriggers;
      # Setting a peer's endpoint needs CAP_NET_ADMIN only.
      capabilities = [ "CAP_NET_ADMIN" ];
      # Netlink for WireGuard, UNIX for wireguard-go's socket and the
      # resolver, IPv4/IPv6 for DNS.
      addressFamilies = [
        "AF_NETLINK"
        "AF_UNIX"
        "AF_INET"
        "AF_INET6"
      ];
    };
  };
}

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
    systemd.services.hortus-endpoints = {
      description = "Keep every hortus link this host dials on an endpoint that works";
      wantedBy = [ "multi-user.target" ];
      wants = [ "systemd-networkd.service" ];
      # No network-online.target: it retries every pass, and ordering
      # after it without wanting it is what NixOS warns about.
      after = [
        "systemd-networkd.service"
        "hortus-reconcile.service"
      ];
      # A changed plan (/etc/hortus/plan.json, installed by reconcile.nix)
      # restarts it with the new candidates: reconcile's own trigger.
      inherit (config.systemd.services.hortus-reconcile) restartTriggers;
      # hortus-render's hardening of its own services (nix/render-constants.json).
      serviceConfig = mapping.constants.service // {
        ExecStart = "${cfg.package}/bin/hortus endpoints --plan /etc/hortus/plan.json";
        Restart = "always";
        RestartSec = 5;
        # Setting a peer's endpoint needs CAP_NET_ADMIN only.
        AmbientCapabilities = [ "CAP_NET_ADMIN" ];
        CapabilityBoundingSet = [ "CAP_NET_ADMIN" ];
        # Netlink for WireGuard, UNIX for wireguard-go's socket and the
        # resolver, IPv4/IPv6 for DNS.
        RestrictAddressFamilies = [
          "AF_NETLINK"
          "AF_UNIX"
          "AF_INET"
          "AF_INET6"
        ];
      };
    };
  };
}

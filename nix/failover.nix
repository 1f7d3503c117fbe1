# Failover under a second, for services.hortus with BIRD: runs `hortus
# failover` as hortus-failover.service, which probes every link of this
# host (an ICMPv6 echo over it every mesh.failover.probe_interval_ms) and
# takes one without replies for the detection time out of BIRD's Babel at
# once (its link-local address removed), back after the hold-down. On by
# default when the plan probes links (mesh.failover.probe: with BIRD).
# See README, "Babel timers: failover against flaps".
{ config, lib, ... }:

let
  cfg = config.services.hortus;
  mapping = import ./lib.nix;
in
{
  options.services.hortus.failover.enable = lib.mkOption {
    type = lib.types.bool;
    default = cfg.plan != null && cfg.plan.mesh.failover.probe;
    defaultText = lib.literalExpression "config.services.hortus.plan.mesh.failover.probe";
    description = ''
      Run `hortus failover` (hortus-failover.service): every link is probed
      every `mesh.failover.probe_interval_ms`; a link without a reply for
      `probe_interval_ms` × `probe_misses` leaves BIRD's Babel at once and
      comes back after `hold_down_ms` of replies (BIRD alone notices a dead
      link only after its once-a-second check). The default follows the
      plan: on with BIRD, off with babeld (whose link quality does it).
    '';
  };

  config = lib.mkIf (cfg.enable && cfg.plan != null && cfg.failover.enable) {
    systemd.services.hortus-failover = {
      description = "Take a dead hortus link out of BIRD's Babel within a second";
      wantedBy = [ "multi-user.target" ];
      wants = [ "systemd-networkd.service" ];
      after = [
        "systemd-networkd.service"
        "hortus-reconcile.service"
      ];
      # A changed plan (new links, new timers) restarts it: reconcile's own trigger.
      inherit (config.systemd.services.hortus-reconcile) restartTriggers;
      # hortus-render's hardening of its own services (nix/render-constants.json).
      serviceConfig = mapping.constants.service // {
        ExecStart = "${cfg.package}/bin/hortus failover --plan /etc/hortus/plan.json";
        Restart = "always";
        RestartSec = 1;
        # `hortus status` reads /run/hortus-failover/state.json.
        RuntimeDirectory = "hortus-failover";
        # Raw ICMPv6 probes; a link's link-local removed and put back over netlink.
        AmbientCapabilities = [
          "CAP_NET_ADMIN"
          "CAP_NET_RAW"
        ];
        CapabilityBoundingSet = [
          "CAP_NET_ADMIN"
          "CAP_NET_RAW"
        ];
        RestrictAddressFamilies = [
          "AF_NETLINK"
          "AF_INET6"
        ];
      };
    };
  };
}

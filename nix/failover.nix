# Failover under a second, for services.hortus with BIRD: runs `hortus
# failover` as hortus-failover.service, which probes every link of this
# host (an ICMPv6 echo over it every mesh.failover.probe_interval_ms) and
# takes one without replies for the detection time out of BIRD's Babel at
# once (its link-local address removed), back after the hold-down. On when
# the plan probes links (mesh.failover.probe, the default with BIRD).
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
      plan: on when it probes links (`mesh.failover.probe = true`, with
      BIRD; babeld's link quality needs none).
    '';
  };

  config = lib.mkIf (cfg.enable && cfg.plan != null && cfg.failover.enable) {
    systemd.services.hortus-failover = mapping.hostService {
      description = "Take a dead hortus link out of BIRD's Babel within a second";
      command = "${cfg.package}/bin/hortus failover";
      restartSec = 1;
      # A changed plan (new links, new timers) restarts it.
      inherit (config.systemd.services.hortus-reconcile) restartTriggers;
      # Raw ICMPv6 probes; a link's link-local removed and put back over netlink.
      capabilities = [
        "CAP_NET_ADMIN"
        "CAP_NET_RAW"
      ];
      addressFamilies = [
        "AF_NETLINK"
        "AF_INET6"
      ];
      # `hortus status` reads /run/hortus-failover/state.json.
      extraServiceConfig.RuntimeDirectory = "hortus-failover";
    };
  };
}

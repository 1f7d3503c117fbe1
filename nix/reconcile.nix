# Clean reconfiguration for services.hortus: installs this host's plan as
# /etc/hortus/plan.json and runs `hortus reconcile` after systemd-networkd
# at boot and at every switch that changes the plan. systemd-networkd never
# deletes a netdev whose file is gone (a removed peer's `wg-<peer>` would
# stay) and does not apply a changed `MTUBytes=` to an existing interface;
# reconcile deletes such interfaces and reloads networkd, which recreates
# the planned ones from their current files. See docs/nixos.md, "Lifecycle".
{ config, lib, ... }:

let
  cfg = config.services.hortus;
  planJson = builtins.toJSON cfg.plan;
in
{
  config = lib.mkIf (cfg.enable && cfg.plan != null) {
    environment.etc."hortus/plan.json".text = planJson;

    systemd.services.hortus-reconcile = {
      description = "Delete hortus mesh interfaces the plan no longer has or that differ from it";
      wantedBy = [ "multi-user.target" ];
      wants = [ "systemd-networkd.service" ];
      after = [ "systemd-networkd.service" ];
      # A changed plan changes the unit, so switch-to-configuration runs it
      # again (after networkd, which it restarts or reloads for new files).
      restartTriggers = [ (builtins.hashString "sha256" planJson) ];
      # networkctl: NixOS puts systemd on every service's PATH.
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = "${cfg.package}/bin/hortus reconcile --plan /etc/hortus/plan.json";
      };
    };
  };
}

# Stand-ins for NixOS, so hortus' module family can be evaluated with
# nixpkgs' lib.evalModules alone (no nixpkgs tree). Written by us, after the
# nixpkgs declarations named beside each option (tests/nix/nixos/run.sh
# checks that each exists in a whole NixOS with the same type):
#
# - every option the module family (nix/module.nix and its imports) may set,
#   with nixpkgs' own type and therefore merge rule: a sysctl key is unique,
#   `checkReversePath` is a bool or "strict"/"loose", a systemd setting merges
#   equal scalars and concatenates lists, a unit name must end in a unit type,
#   an unknown option or section is an error;
# - the definitions nixpkgs' own modules make on those options when the
#   services hortus turns on are enabled (babeld.nix's sysctls, bird.nix's
#   /etc file, unit and user, the iptables firewall's checkReversePath on a
#   kernel without the rpfilter match), so that a definition of hortus which
#   collides with one of theirs fails here as it would in a whole NixOS.
#
# What is left out on purpose: option values are not checked key by key
# (networkd's section checks, systemd's Type/Restart enums); the whole-NixOS
# tier checks those against the real modules.
{
  config,
  lib,
  ...
}:
let
  inherit (lib)
    mkDefault
    mkIf
    mkMerge
    mkOption
    mkOptionType
    types
    ;

  opt =
    type: default:
    mkOption {
      inherit type default;
    };
  flag = opt types.bool false;
  lines = opt types.lines "";
  strs = opt (types.listOf types.str) [ ];
  ports = opt (types.listOf types.port) [ ];
  portRanges = opt (types.listOf (types.attrsOf types.port)) [ ];

  # nixos/lib/systemd-lib.nix
  unitNameType = types.strMatching "[a-zA-Z0-9@%:_.\\\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)";
  unitNames = opt (types.listOf unitNameType) [ ];
  # nixos/lib/systemd-unit-options.nix: equal scalars merge, lists concatenate.
  unitOption = mkOptionType {
    name = "systemd option";
    merge =
      loc: defs:
      if lib.any (def: lib.isList def.value) defs then
        lib.concatMap (def: lib.toList def.value) defs
      else
        lib.mergeEqualOption loc defs;
  };
  section = opt (types.attrsOf unitOption) { };
  subsections = opt (types.listOf (types.attrsOf unitOption)) [ ];

  # nixos/modules/config/sysctl.nix: a key is defined once (mergeOneOption),
  # whatever its value; rmem_max/wmem_max take the highest.
  sysctlOption = mkOptionType {
    name = "sysctl option value";
    check =
      val:
      let
        checkType = x: lib.isBool x || lib.isString x || lib.isInt x || x == null;
      in
      checkType val || (val._type or "" == "override" && checkType val.content);
    merge = loc: defs: lib.mergeOneOption loc defs;
  };
  highestValueType = types.ints.unsigned // {
    merge = loc: defs: lib.foldl (a: b: if b.value == null then null else lib.max a b.value) 0 defs;
  };

  # nixos/lib/systemd-unit-options.nix: commonUnitOptions, serviceOptions.
  serviceOptions = {
    enable = opt types.bool true;
    overrideStrategy = opt (types.enum [
      "asDropinIfExists"
      "asDropin"
    ]) "asDropinIfExists";
    description = opt types.singleLineStr "";
    documentation = strs;
    requires = unitNames;
    wants = unitNames;
    upholds = unitNames;
    after = unitNames;
    before = unitNames;
    bindsTo = unitNames;
    partOf = unitNames;
    conflicts = unitNames;
    requisite = unitNames;
    wantedBy = unitNames;
    requiredBy = unitNames;
    upheldBy = unitNames;
    aliases = unitNames;
    onFailure = unitNames;
    onSuccess = unitNames;
    unitConfig = section;
    startLimitBurst = mkOption { type = types.int; };
    startLimitIntervalSec = mkOption { type = types.int; };
    restartTriggers = opt (types.listOf types.unspecified) [ ];
    reloadTriggers = opt (types.listOf unitOption) [ ];
    environment = opt (types.attrsOf (
      types.nullOr (
        types.oneOf [
          types.str
          types.path
          types.package
        ]
      )
    )) { };
    path = opt (types.listOf (
      types.oneOf [
        types.package
        types.str
      ]
    )) [ ];
    enableDefaultPath = opt types.bool true;
    serviceConfig = section;
    enableStrictShellChecks = flag;
    script = lines;
    scriptArgs = opt types.str "";
    preStart = lines;
    postStart = lines;
    reload = lines;
    preStop = lines;
    postStop = lines;
    restartIfChanged = opt types.bool true;
    reloadIfChanged = flag;
    stopIfChanged = opt types.bool true;
    notSocketActivated = flag;
    startAt = opt (types.either types.str (types.listOf types.str)) [ ];
  };

  # Timers and path units: the common unit options and their own section.
  unitOptions = lib.filterAttrs (
    n: _:
    !lib.elem n [
      "environment"
      "path"
      "enableDefaultPath"
      "serviceConfig"
      "enableStrictShellChecks"
      "script"
      "scriptArgs"
      "preStart"
      "postStart"
      "reload"
      "preStop"
      "postStop"
      "reloadIfChanged"
      "restartIfChanged"
      "stopIfChanged"
      "notSocketActivated"
      "startAt"
    ]
  ) serviceOptions;

  # nixos/modules/services/networking/firewall.nix: commonOptions.
  firewallPorts = {
    allowedTCPPorts = ports;
    allowedTCPPortRanges = portRanges;
    allowedUDPPorts = ports;
    allowedUDPPortRanges = portRanges;
  };

  # nixos/modules/system/boot/networkd.nix: the sections of a .netdev and a
  # .network unit (no freeform: an unknown section is an error).
  commonNetworkOptions = {
    enable = opt types.bool true;
    matchConfig = section;
    extraConfig = lines;
  };
  netdevOptions = commonNetworkOptions // {
    netdevConfig = mkOption { type = types.attrsOf unitOption; };
    wireguardConfig = section;
    wireguardPeers = subsections;
    vlanConfig = section;
    tunnelConfig = section;
    bridgeConfig = section;
  };
  networkOptions = commonNetworkOptions // {
    name = opt (types.nullOr types.str) null;
    linkConfig = section;
    networkConfig = section;
    address = strs;
    gateway = strs;
    addresses = subsections;
    routes = subsections;
    routingPolicyRules = subsections;
    DHCP = opt (types.nullOr types.str) null;
  };

  # nixos/modules/system/etc/etc.nix: one /etc file.
  etcFile =
    { name, config, ... }:
    {
      options = {
        enable = opt types.bool true;
        target = mkOption { type = types.str; };
        text = opt (types.nullOr types.lines) null;
        source = mkOption { type = types.path; };
        mode = opt types.str "symlink";
        uid = opt types.int 0;
        gid = opt types.int 0;
        user = opt types.str "+${toString config.uid}";
        group = opt types.str "+${toString config.gid}";
      };
      config = {
        target = mkDefault name;
        # nixpkgs writes `text` with pkgs.writeText; any absolute path will do here.
        source = mkIf (config.text != null) (mkDefault "/stand-in/etc/${name}");
      };
    };

  # The kernel of the stand-in system: the default nixpkgs kernel has the
  # rpfilter match (CONFIG_IP_NF_MATCH_RPFILTER); a test may set one without.
  kernelHasRPFilter =
    let
      kernel = config.boot.kernelPackages.kernel;
    in
    ((kernel.config.isEnabled or (x: false)) "IP_NF_MATCH_RPFILTER") || (kernel.features.netfilterRPFilter or false);

  firewall = config.networking.firewall;
in
{
  options = {
    assertions = opt (types.listOf types.unspecified) [ ];
    warnings = opt (types.listOf types.str) [ ];

    # nixos/modules/tasks/network-interfaces.nix, config/networking.nix
    networking.hostName = opt (types.strMatching "^$|^[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?$") "nixos";
    networking.hosts = opt (types.attrsOf (types.listOf types.str)) { };
    networking.useNetworkd = flag;

    # nixos/modules/services/networking/firewall{,-iptables,-nftables}.nix
    networking.firewall = firewallPorts // {
      enable = opt types.bool true;
      backend = opt (types.enum [
        "iptables"
        "nftables"
        "firewalld"
      ]) (
        if config.services.firewalld.enable then
          "firewalld"
        else if config.networking.nftables.enable then
          "nftables"
        else
          "iptables"
      );
      trustedInterfaces = strs;
      allowPing = opt types.bool true;
      checkReversePath = opt (types.either types.bool (
        types.enum [
          "strict"
          "loose"
        ]
      )) true;
      logReversePathDrops = flag;
      filterForward = flag;
      interfaces = opt (types.attrsOf (types.submodule [ { options = firewallPorts; } ])) { };
      extraCommands = lines;
      extraStopCommands = lines;
      extraInputRules = lines;
      extraForwardRules = lines;
      extraReversePathFilterRules = lines;
    };
    services.firewalld.enable = flag;

    # nixos/modules/services/networking/nftables.nix
    networking.nftables = {
      enable = flag;
      checkRuleset = opt types.bool true;
      preCheckRuleset = lines;
      extraDeletions = lines;
      ruleset = lines;
      flushRuleset = opt types.bool true;
      tables = opt (types.attrsOf (
        types.submodule (
          { name, ... }:
          {
            options = {
              enable = opt types.bool true;
              name = mkOption { type = types.str; };
              content = mkOption { type = types.lines; };
              family = mkOption {
                type = types.enum [
                  "ip"
                  "ip6"
                  "inet"
                  "arp"
                  "bridge"
                  "netdev"
                ];
              };
            };
            config.name = mkDefault name;
          }
        )
      )) { };
    };

    boot.kernel.sysctl = opt (types.submodule {
      freeformType = types.attrsOf sysctlOption;
      options = {
        "net.core.rmem_max" = opt (types.nullOr highestValueType) null;
        "net.core.wmem_max" = opt (types.nullOr highestValueType) null;
      };
    }) { };
    boot.kernelPackages = opt types.raw {
      kernel = {
        config.isEnabled = _: true;
        features = { };
      };
    };
    # nixos/modules/system/boot/kernel.nix: a list, or names set to true.
    boot.kernelModules = mkOption {
      type = types.coercedTo (types.listOf types.str) (names: lib.genAttrs names (_: true)) (types.attrsOf types.bool);
      default = { };
      apply = modules: lib.attrNames (lib.filterAttrs (_: v: v) modules);
    };

    # nixos/modules/system/boot/networkd.nix
    systemd.network = {
      enable = flag;
      netdevs = opt (types.attrsOf (types.submodule { options = netdevOptions; })) { };
      networks = opt (types.attrsOf (types.submodule { options = networkOptions; })) { };
      links = opt (types.attrsOf (types.submodule { options = commonNetworkOptions // { linkConfig = section; }; })) { };
      wait-online.ignoredInterfaces = strs;
    };
    # nixos/modules/system/boot/systemd.nix
    systemd.services = opt (types.attrsOf (types.submodule { options = serviceOptions; })) { };
    systemd.timers = opt (types.attrsOf (types.submodule { options = unitOptions // { timerConfig = section; }; })) { };
    systemd.paths = opt (types.attrsOf (types.submodule { options = unitOptions // { pathConfig = section; }; })) { };
    systemd.tmpfiles.rules = strs;
    # nixos/modules/system/etc/etc.nix
    environment.etc = opt (types.attrsOf (types.submodule etcFile)) { };
    environment.systemPackages = opt (types.listOf types.package) [ ];
    # nixos/modules/config/users-groups.nix (the part system services use)
    users.users = opt (types.attrsOf (
      types.submodule {
        options = {
          isSystemUser = flag;
          group = opt types.str "";
          description = opt (types.passwdEntry types.str) "";
          extraGroups = strs;
        };
      }
    )) { };
    users.groups = opt (types.attrsOf (
      types.submodule {
        options.gid = opt (types.nullOr types.int) null;
        options.members = opt (types.listOf (types.passwdEntry types.str)) [ ];
      }
    )) { };

    # nixos/modules/services/networking/bird.nix
    services.bird = {
      enable = flag;
      config = mkOption { type = types.lines; };
      autoReload = opt types.bool true;
      checkConfig = opt types.bool true;
      preCheckConfig = lines;
    };
    # nixos/modules/services/networking/babeld.nix
    services.babeld = {
      enable = flag;
      interfaceDefaults = opt (types.nullOr (types.attrsOf types.unspecified)) null;
      interfaces = opt (types.attrsOf (types.attrsOf types.unspecified)) { };
      extraConfig = lines;
    };
  };

  # What nixpkgs' own modules define on the same options.
  config = mkMerge [
    # bird.nix
    (mkIf config.services.bird.enable {
      environment.etc."bird/bird.conf".text = config.services.bird.config;
      systemd.services.bird = {
        description = "BIRD Internet Routing Daemon";
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        reloadTriggers = lib.optional config.services.bird.autoReload config.environment.etc."bird/bird.conf".source;
        serviceConfig = {
          Type = "forking";
          Restart = "on-failure";
          User = "bird";
          Group = "bird";
          ExecStart = "/stand-in/bin/bird -c /etc/bird/bird.conf";
          ExecReload = "/stand-in/bin/birdc configure";
          ExecStop = "/stand-in/bin/birdc down";
          RuntimeDirectory = "bird";
        };
      };
      users.users.bird = {
        description = "BIRD Internet Routing Daemon user";
        group = "bird";
        isSystemUser = true;
      };
      users.groups.bird = { };
    })
    # babeld.nix
    (mkIf config.services.babeld.enable {
      boot.kernel.sysctl = {
        "net.ipv6.conf.all.forwarding" = 1;
        "net.ipv6.conf.all.accept_redirects" = 0;
        "net.ipv4.conf.all.forwarding" = 1;
        "net.ipv4.conf.all.rp_filter" = 0;
      }
      // lib.mapAttrs' (
        ifname: _: lib.nameValuePair "net.ipv4.conf.${ifname}.rp_filter" (mkDefault 0)
      ) config.services.babeld.interfaces;
      systemd.services.babeld = {
        description = "Babel routing daemon";
        after = [ "network.target" ];
        wantedBy = [ "multi-user.target" ];
        serviceConfig = {
          ExecStart = "/stand-in/bin/babeld -c /stand-in/babeld.conf -I /run/babeld/babeld.pid -S /var/lib/babeld/state";
          DynamicUser = true;
          RestrictAddressFamilies = [
            "AF_NETLINK"
            "AF_INET6"
            "AF_INET"
          ];
          RuntimeDirectory = "babeld";
          StateDirectory = "babeld";
        };
      };
    })
    # firewall-iptables.nix
    (mkIf (firewall.enable && firewall.backend == "iptables") {
      assertions = [
        {
          assertion = firewall.checkReversePath == false || kernelHasRPFilter;
          message = "This kernel does not support rpfilter";
        }
      ];
      networking.firewall.checkReversePath = mkIf (!kernelHasRPFilter) (mkDefault false);
    })
    # networkd.nix: useNetworkd turns networkd on.
    (mkIf config.networking.useNetworkd { systemd.network.enable = mkDefault true; })
  ];
}

# The mapping from a hortus plan (the JSON of `hortus plan`, see
# docs/plan-format.md) to NixOS option values. Nix maps, never decides: the
# plan carries every address, port, endpoint, metric, sysctl, firewall port
# and NAT rule; these functions only select and rename fields (plan field ->
# networkd key). They use builtins only, so they can be evaluated and tested
# without nixpkgs:
#
#   nix-instantiate --eval --strict --json -E \
#     '(import ./nix/lib.nix).networks ((import ./nix/lib.nix).hostView plan "abhoth")'
let
  inherit (builtins)
    attrNames
    concatStringsSep
    elem
    filter
    head
    listToAttrs
    map
    match
    substring
    stringLength
    ;

  optionalAttrs = cond: attrs: if cond then attrs else { };

  # The renderers' fixed settings (networkd [Link]/[Network], RouteTable=,
  # AllowedIPs=, the anchor's kind, phantun's unit), generated from
  # hortus-render's constants; a test keeps the file current.
  constants = builtins.fromJSON (builtins.readFile ./render-constants.json);
  networkd = constants.networkd;

  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;

  # systemd-networkd unit (file) names, as `hortus render` names its files.
  anchorUnit = interface: "10-${interface}";
  linkUnit = interface: "20-${interface}";

  # One of the plan's interface addresses (`node.anchor_addresses`,
  # `link.addresses`) as networkd's [Address] section.
  addressSection =
    a:
    { Address = "${a.address}/${toString a.prefix_len}"; }
    // optionalAttrs (a.peer != null) { Peer = "${a.peer}/${toString a.prefix_len}"; }
    // optionalAttrs a.scope_link { Scope = "link"; }
    // optionalAttrs (a.route_metric != null) { RouteMetric = a.route_metric; };
in
rec {
  /**
    The renderers' fixed settings (`nix/render-constants.json`).
  */
  inherit constants;

  /**
    The plan format version this mapping reads (`version` in the plan JSON;
    hortus-plan's PLAN_VERSION).
  */
  planVersion = 7;

  /**
    The node names of `plan`: a whole plan (`hortus plan`) or one host's view
    (`hortus plan --host`).
  */
  hostNames = plan: if plan ? nodes then attrNames plan.nodes else [ plan.host ];

  /**
    Whether `host` is in `plan`.
  */
  hasHost = plan: host: elem host (hostNames plan);

  /**
    `host`'s view of `plan`, exactly what `hortus plan --host host` prints:
    a selection (`plan.nodes.<host>` and the mesh-wide parts), nothing is
    computed. A host view is returned as it is.
  */
  hostView =
    plan: host:
    if !(hasHost plan host) then
      throw "hortus: host `${host}` is not in the plan (nodes: ${concatStringsSep ", " (hostNames plan)})"
    else if !(plan ? nodes) then
      plan
    else
      {
        inherit (plan) version mesh warnings;
        inherit host;
        node = plan.nodes.${host};
      };

  /**
    The mesh (WireGuard) interfaces of a host view, in plan order
    (`node.firewall.mesh_interfaces`).
  */
  interfaces = hostPlan: hostPlan.node.firewall.mesh_interfaces;

  /**
    Why `path` is not acceptable as the key file option `option`, or null.
    Key files are read by systemd-networkd at run time; their contents must
    never enter the world-readable Nix store.
  */
  keyFileProblem =
    option: path:
    if !(hasPrefix "/" path) then
      "${option} = \"${path}\" is not an absolute path"
    else if hasPrefix "${builtins.storeDir}/" path then
      "${option} = \"${path}\" is in the Nix store, which is world-readable; keep keys outside it (agenix, sops-nix, vaultix...)"
    else
      null;

  /**
    `systemd.network.netdevs` of a host view: the anchor dummy and one
    WireGuard netdev per link, `Endpoint` the `socket` of the link's first
    `endpoints` entry (none when the list is empty). Key material appears
    only as file paths. The same keys and values as
    `hortus render --format networkd`.
  */
  netdevs =
    {
      hostPlan,
      privateKeyFile,
      presharedKeyFile ? null,
    }:
    let
      node = hostPlan.node;
      mark = if node.policy_routing == null then null else node.policy_routing.wireguard_mark;
      wireguard = link: {
        name = linkUnit link.interface;
        value = {
          netdevConfig = {
            Name = link.interface;
            Kind = "wireguard";
            MTUBytes = link.mtu;
            Description = "hortus link to ${link.peer} (port ${toString link.port}, ${link.path})";
          };
          wireguardConfig = {
            PrivateKeyFile = privateKeyFile;
            RouteTable = networkd.routeTable;
          }
          // optionalAttrs link.listen { ListenPort = link.port; }
          // optionalAttrs (mark != null) { FirewallMark = mark; };
          wireguardPeers = [
            (
              {
                PublicKey = link.peer_public_key;
                AllowedIPs = networkd.allowedIPs;
                RouteTable = networkd.routeTable;
              }
              // optionalAttrs (presharedKeyFile != null) { PresharedKeyFile = presharedKeyFile; }
              // optionalAttrs (link.endpoints != [ ]) { Endpoint = (head link.endpoints).socket; }
              // optionalAttrs (link.keepalive != null) { PersistentKeepalive = link.keepalive; }
            )
          ];
        };
      };
    in
    listToAttrs (
      [
        {
          name = anchorUnit node.anchor;
          value.netdevConfig = {
            Name = node.anchor;
            Kind = networkd.anchorKind;
            Description = "hortus anchor: this node's own mesh addresses";
          };
        }
      ]
      ++ map wireguard node.links
    );

  /**
    `systemd.network.networks` of a host view: one [Address] section per
    address of the plan, `node.anchor_addresses` on the anchor and
    `link.addresses` on each WireGuard interface (`Address` =
    address/prefix_len, `Peer` = peer/prefix_len when there is a peer,
    `Scope=link` when scope_link, `RouteMetric` when route_metric is set).
    No routes: the routing daemon installs them; with the plan's
    `node.policy_routing`, the anchor also carries its rules
    (`routingPolicyRules`) and the exit table's `unreachable` defaults.
  */
  networks =
    hostPlan:
    let
      node = hostPlan.node;
      policy = node.policy_routing;
      rule =
        r:
        {
          Priority = r.priority;
          Family = r.family;
          Table = if r.table == 254 then "main" else r.table;
        }
        // optionalAttrs (r.suppress_prefix_length != null) { SuppressPrefixLength = r.suppress_prefix_length; }
        // optionalAttrs (r.fwmark != null) { FirewallMark = r.fwmark; }
        // optionalAttrs r.invert { InvertRule = "yes"; }
        // optionalAttrs (r.input_interface != null) { IncomingInterface = r.input_interface; }
        // optionalAttrs (r.from != null) { From = r.from; }
        // optionalAttrs (r.to != null) { To = r.to; };
      unreachable = prefix: {
        Destination = prefix;
        Type = "unreachable";
        Table = policy.table;
        Metric = policy.unreachable_metric;
      };
      anchorPolicy = optionalAttrs (policy != null) {
        routingPolicyRules = map rule policy.rules;
        routes = map unreachable policy.unreachable;
      };
      network = interface: addresses: {
        matchConfig.Name = interface;
        linkConfig = networkd.link;
        networkConfig = networkd.network;
        inherit addresses;
      };
      wireguard = link: {
        name = linkUnit link.interface;
        value = network link.interface (map addressSection link.addresses);
      };
    in
    listToAttrs (
      [
        {
          name = anchorUnit node.anchor;
          value = network node.anchor (map addressSection node.anchor_addresses) // anchorPolicy;
        }
      ]
      ++ map wireguard node.links
    );

  /**
    Firewall values of a host view (`node.firewall`): the UDP ports the host
    listens on directly (`udp_ports`) and its mesh interfaces
    (`mesh_interfaces`). Forwarded links are reached over loopback; the TCP
    ports of phantun servers (`tcp_ports`) are opened by ./forwarder.nix with
    the servers, and `external_forwarder_ports` are the operator's.
  */
  firewall = hostPlan: {
    allowedUDPPorts = hostPlan.node.firewall.udp_ports;
    trustedInterfaces = hostPlan.node.firewall.mesh_interfaces;
  };

  /**
    `networking.firewall.interfaces` of a host view whose mesh interfaces are
    not trusted: Babel's UDP port (`node.firewall.babel_udp_port`) on each.
  */
  babelOnlyInterfaces =
    hostPlan:
    listToAttrs (
      map (interface: {
        name = interface;
        value.allowedUDPPorts = [ hostPlan.node.firewall.babel_udp_port ];
      }) hostPlan.node.firewall.mesh_interfaces
    );

  /**
    The host's phantun instances (docs/plan-format.md, `forwarder`): one per
    forwarded link whose forwarder's transport is phantun, as
    `{ link, forwarder, client }` in link order.
  */
  phantunInstances =
    hostPlan:
    map (link: {
      inherit link;
      inherit (link) forwarder;
      client = link.forwarder.role == "client";
    }) (filter (link: link.forwarder != null && link.forwarder.transport == "phantun") hostPlan.node.links);

  /**
    A hortus service of the host (`hortus SUBCOMMAND --plan
    /etc/hortus/plan.json`) as a `systemd.services` value, the unit
    `hortus render` writes for hosts without NixOS: after systemd-networkd
    and `hortus reconcile` (no network-online.target: it retries, and
    ordering after it without wanting it is what NixOS warns about),
    restarted when the plan changes (`restartTriggers`, reconcile's), with
    hortus-render's hardening (`constants.service`) and the service's
    capabilities and address families.
  */
  hostService =
    {
      description,
      command,
      restartSec,
      capabilities,
      addressFamilies,
      restartTriggers,
      extraServiceConfig ? { },
    }:
    {
      inherit description restartTriggers;
      wantedBy = [ "multi-user.target" ];
      wants = [ "systemd-networkd.service" ];
      after = [
        "systemd-networkd.service"
        "hortus-reconcile.service"
      ];
      serviceConfig =
        constants.service
        // {
          ExecStart = "${command} --plan /etc/hortus/plan.json";
          Restart = "always";
          RestartSec = restartSec;
          AmbientCapabilities = capabilities;
          CapabilityBoundingSet = capabilities;
          RestrictAddressFamilies = addressFamilies;
        }
        // extraServiceConfig;
    };

  /**
    The command line of a phantun instance (hortus-render's
    `PhantunInstance::command`): `phantun ARGS` with the plan's arguments;
    for a client whose remote is a DNS name, under `hortus
    forwarder-client` with the host's underlay and endpoint settings, which
    dials the name's current address and restarts phantun when the name
    moves (phantun alone resolves it once, at start). `hortus` and
    `phantun` are the two binaries' paths.
  */
  phantunCommand =
    {
      hortus,
      phantun,
    }:
    hostPlan: i:
    let
      settings = hostPlan.mesh.endpoints;
      direct = [ phantun ] ++ i.forwarder.args;
    in
    if i.client && i.forwarder.remote.family == "dns" then
      [
        hortus
        "forwarder-client"
        "--underlay"
        hostPlan.node.underlay
        "--prefer"
        settings.prefer
        "--switch-after-s"
        (toString settings.switch_after_s)
        "--"
      ]
      ++ direct
    else
      direct;

  /**
    `boot.kernel.sysctl` of a host view: the plan's `node.sysctl` as it is
    (keys already in sysctl.d syntax; the same keys and values as
    `hortus render`'s sysctl.d/60-hortus.conf).
  */
  sysctl = hostPlan: hostPlan.node.sysctl;

  /**
    The host's NAT rules (`node.nat_rules`) as the body of nftables table
    `hortus_forwarder` (family inet): byte for byte what `hortus render
    --format forwarder` writes between `table inet hortus_forwarder {` and
    its closing brace. A `dnat` rule gives one line per family, a
    `masquerade` rule one line.
  */
  nftablesForwarderTable =
    hostPlan:
    let
      rules = hostPlan.node.nat_rules;
      dnat = filter (r: r.action == "dnat") rules;
      masquerade = filter (r: r.action == "masquerade") rules;
      dnatLines =
        r:
        concatStringsSep "" (
          map (
            to:
            "    iifname != \"${r.except_interface}\" fib daddr type local tcp dport ${toString r.port} dnat ${to}\n"
          ) [ "ip to ${r.to}" "ip6 to ${r.to6}" ]
        );
      chain =
        name: hook: priority: lines:
        "  chain ${name} {\n    type nat hook ${hook} priority ${priority}; policy accept;\n${lines}  }\n";
    in
    chain "prerouting" "prerouting" "dstnat" (concatStringsSep "" (map dnatLines dnat))
    + chain "postrouting" "postrouting" "srcnat" (
      concatStringsSep "" (map (r: "    iifname \"${r.interface}\" masquerade\n") masquerade)
    );

  /**
    nftables forward-chain rules (`networking.firewall.extraForwardRules`)
    of a host view: one `accept` per entry of the plan's
    `node.firewall.forward_accept`, the fields it gives as matches.
  */
  nftablesForwardAccept =
    hostPlan:
    concatStringsSep "" (
      map (
        r:
        concatStringsSep " " (
          (if r.input_interface != null then [ "iifname \"${r.input_interface}\"" ] else [ ])
          ++ (if r.output_interface != null then [ "oifname \"${r.output_interface}\"" ] else [ ])
          ++ (if r.tcp_port != null then [ "tcp dport ${toString r.tcp_port}" ] else [ ])
          ++ [ "accept" ]
        )
        + "\n"
      ) hostPlan.node.firewall.forward_accept
    );

  /**
    The body of nftables table `hortus_firewall` (family inet) of a host
    view: byte for byte what `hortus render --format firewall` writes
    between `table inet hortus_firewall {` and its closing brace. Set
    `mesh` (`node.firewall.mesh_interfaces`); chain `forward`: MSS clamping,
    then the plan's `firewall.perimeter`; chain `postrouting`: the
    `masquerade_subnets` and `masquerade_exit` NAT rules.
  */
  nftablesFirewallTable =
    hostPlan:
    let
      node = hostPlan.node;
      perimeter = node.firewall.perimeter;
      isV4 = prefix: match ".*:.*" prefix == null;
      setOf = prefixes: "{ ${concatStringsSep ", " prefixes} }";
      byFamily =
        prefixes:
        filter (f: f.prefixes != [ ]) [
          {
            family = "ip";
            nfproto = "ipv4";
            prefixes = filter isV4 prefixes;
          }
          {
            family = "ip6";
            nfproto = "ipv6";
            prefixes = filter (p: !isV4 p) prefixes;
          }
        ];
      lines = ls: concatStringsSep "" (map (l: "    ${l}\n") ls);
      names = map (i: "\"${i}\"") node.firewall.mesh_interfaces;
      set =
        "  set mesh {\n    type ifname\n"
        + (if names == [ ] then "" else "    elements = { ${concatStringsSep ", " names} }\n")
        + "  }\n";
      chain =
        name: kind: hook: priority: body:
        "  chain ${name} {\n    type ${kind} hook ${hook} priority ${priority}; policy accept;\n${body}  }\n";
      forward = lines (
        [
          "# TCP into the mesh: MSS clamped to the route's MTU (links differ; a forwarded one is smaller)."
          "oifname @mesh tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu"
          "ct state established,related accept"
          "# From the mesh: to the mesh (Babel's detours) and to this node's subnets."
          "iifname @mesh oifname @mesh accept"
        ]
        ++ map (f: "iifname @mesh ${f.family} daddr ${setOf f.prefixes} accept") (byFamily perimeter.subnets)
        ++ (
          if perimeter.exit then
            [
              "# An exit: mesh traffic leaves through any interface."
              "iifname @mesh accept"
            ]
          else
            [ "iifname @mesh drop" ]
        )
        ++ [ "# Into the mesh: from this node's subnets only (and replies)." ]
        ++ map (f: "oifname @mesh ${f.family} saddr ${setOf f.prefixes} accept") (byFamily perimeter.subnets)
        ++ [ "oifname @mesh drop" ]
      );
      nat =
        r:
        if r.action == "masquerade_subnets" then
          map (f: "iifname @mesh ${f.family} daddr ${setOf f.prefixes} masquerade") (byFamily r.destinations)
        else if r.action == "masquerade_exit" && r.except == [ ] then
          [ "iifname @mesh oifname != @mesh masquerade" ]
        else if r.action == "masquerade_exit" then
          let
            excepted = byFamily r.except;
            filterOf =
              family: nfproto:
              let
                own = filter (f: f.family == family) excepted;
              in
              if own == [ ] then "meta nfproto ${nfproto}" else "${family} daddr != ${setOf (head own).prefixes}";
          in
          map (f: "iifname @mesh oifname != @mesh ${filterOf f.family f.nfproto} masquerade") [
            {
              family = "ip";
              nfproto = "ipv4";
            }
            {
              family = "ip6";
              nfproto = "ipv6";
            }
          ]
        else
          [ ];
      post = lines (builtins.concatMap nat node.nat_rules);
    in
    set
    + chain "forward" "filter" "forward" "filter" forward
    + (if post == "" then "" else chain "postrouting" "nat" "postrouting" "srcnat" post);

  /**
    The whole ruleset of table `hortus_firewall`, replacing the table when
    loaded (for `nft -f`): the table, its deletion, then the table with
    {nftablesFirewallTable}'s body, as `hortus render --format firewall`
    writes it without its comment lines.
  */
  nftablesFirewallRuleset =
    hostPlan:
    "table inet hortus_firewall\ndelete table inet hortus_firewall\ntable inet hortus_firewall {\n"
    + nftablesFirewallTable hostPlan
    + "}\n";

  /**
    nftables forward-chain rules (`networking.firewall.extraForwardRules`)
    a forward-filtering NixOS firewall needs for the perimeter: what the
    plan's `firewall.perimeter` lets through, as `accept` rules (the mesh
    interfaces as an anonymous set).
  */
  nftablesPerimeterAccept =
    hostPlan:
    let
      node = hostPlan.node;
      perimeter = node.firewall.perimeter;
      mesh = "{ ${concatStringsSep ", " (map (i: "\"${i}\"") node.firewall.mesh_interfaces)} }";
      isV4 = prefix: match ".*:.*" prefix == null;
      family = prefix: if isV4 prefix then "ip" else "ip6";
    in
    if node.firewall.mesh_interfaces == [ ] then
      ""
    else
      concatStringsSep "" (
        [ "iifname ${mesh} oifname ${mesh} accept\n" ]
        ++ map (p: "iifname ${mesh} ${family p} daddr ${p} accept\n") perimeter.subnets
        ++ map (p: "oifname ${mesh} ${family p} saddr ${p} accept\n") perimeter.subnets
        ++ (if perimeter.exit then [ "iifname ${mesh} accept\n" ] else [ ])
      );
}

# The mapping from a hortus plan (the JSON of `hortus plan`, see
# docs/plan-format.md) to NixOS option values. The plan decides everything;
# these functions only rename fields. They use builtins only, so they can be
# evaluated and tested without nixpkgs:
#
#   nix-instantiate --eval --strict --json -E \
#     '(import ./nix/lib.nix).networks ((import ./nix/lib.nix).hostView plan "abhoth")'
let
  inherit (builtins)
    attrNames
    concatStringsSep
    elem
    filter
    listToAttrs
    map
    replaceStrings
    substring
    stringLength
    ;

  optionalAttrs = cond: attrs: if cond then attrs else { };

  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;

  # systemd-networkd unit (file) names, as `hortus render` names its files.
  anchorUnit = interface: "10-${interface}";
  linkUnit = interface: "20-${interface}";

  # Kernel metric of the peer route of a link's ULA address: worse than the
  # routing daemons' routes (hortus-render's PEER_ROUTE_METRIC).
  peerRouteMetric = 1024;

  # Babel's UDP port (RFC 8966).
  babelPort = 6696;
in
rec {
  /**
    The plan format version this mapping reads (`version` in the plan JSON).
  */
  planVersion = 2;

  inherit babelPort;

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
    the same fields, and only the skipped pairs involving `host`. A host view
    is returned as it is.
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
        skipped = filter (pair: elem host pair.nodes) plan.skipped;
      };

  /**
    The WireGuard interfaces of a host view, in plan order.
  */
  interfaces = hostPlan: map (link: link.interface) hostPlan.node.links;

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
    WireGuard netdev per link. Key material appears only as file paths.
    The same keys and values as `hortus render --format networkd`.
  */
  netdevs =
    {
      hostPlan,
      privateKeyFile,
      presharedKeyFile ? null,
    }:
    let
      node = hostPlan.node;
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
            RouteTable = "off";
          }
          // optionalAttrs link.listen { ListenPort = link.port; };
          wireguardPeers = [
            (
              {
                PublicKey = link.peer_public_key;
                AllowedIPs = [
                  "::/0"
                  "0.0.0.0/0"
                ];
                RouteTable = "off";
              }
              // optionalAttrs (presharedKeyFile != null) { PresharedKeyFile = presharedKeyFile; }
              // optionalAttrs (link.endpoint != null) { Endpoint = link.endpoint; }
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
            Kind = "dummy";
            Description = "hortus anchor: this node's own mesh addresses";
          };
        }
      ]
      ++ map wireguard node.links
    );

  /**
    `systemd.network.networks` of a host view. On every WireGuard interface:
    the node's link-local /128 with the peer's as Peer= (scope link; Babel
    speaks from it) and the node's ULA /128 with the peer's ULA as Peer=,
    whose kernel route gets metric `peerRouteMetric` (1024) so a Babel
    route always wins. On the anchor: the ULA /128 and the IPv4 /32, if any.
    No other routes: the routing daemon installs them.
  */
  networks =
    hostPlan:
    let
      node = hostPlan.node;
      network = interface: addresses: {
        matchConfig.Name = interface;
        linkConfig.RequiredForOnline = "no";
        networkConfig = {
          LinkLocalAddressing = "no";
          IPv6AcceptRA = "no";
          DHCP = "no";
          ConfigureWithoutCarrier = "yes";
        };
        inherit addresses;
      };
      wireguard = link: {
        name = linkUnit link.interface;
        value = network link.interface [
          {
            Address = "${node.link_local}/128";
            Peer = "${link.peer_link_local}/128";
            Scope = "link";
          }
          {
            Address = "${node.address}/128";
            Peer = "${link.peer_address}/128";
            RouteMetric = peerRouteMetric;
          }
        ];
      };
    in
    listToAttrs (
      [
        {
          name = anchorUnit node.anchor;
          value = network node.anchor (
            [ { Address = "${node.address}/128"; } ]
            ++ (if node.ipv4_address != null then [ { Address = "${node.ipv4_address}/32"; } ] else [ ])
          );
        }
      ]
      ++ map wireguard node.links
    );

  /**
    Firewall values of a host view: the UDP ports the host listens on directly
    and its mesh interfaces. Forwarded links are reached over loopback; the
    ports of forwarder servers (`node.forwarder_ports`) are left to the
    forwarder's own configuration, since its transport decides the protocol.
  */
  firewall = hostPlan: {
    allowedUDPPorts = hostPlan.node.firewall_udp_ports;
    trustedInterfaces = interfaces hostPlan;
  };

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
    `boot.kernel.sysctl` of a host view: IPv6 (and, with an IPv4 overlay
    or phantun instances, IPv4) forwarding, and no reverse-path filter on the mesh interfaces
    (Babel routes are asymmetric by design).
  */
  sysctl =
    hostPlan:
    let
      # In sysctl.d keys a dot inside an interface name is written as `/`.
      key = interface: "net.ipv4.conf.${replaceStrings [ "." ] [ "/" ] interface}.rp_filter";
      # phantun routes between its TUN devices and the uplink (IPv4 too).
      withIpv4 = hostPlan.node.ipv4_address != null || phantunInstances hostPlan != [ ];
    in
    listToAttrs (
      map (interface: {
        name = key interface;
        value = 0;
      }) (interfaces hostPlan)
    )
    // {
      "net.ipv6.conf.all.forwarding" = 1;
    }
    // optionalAttrs withIpv4 { "net.ipv4.conf.all.forwarding" = 1; };
}

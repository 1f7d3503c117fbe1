# An offline stand-in for nixpkgs, for evaluating hortus' flake outputs in
# tests/nix/run.sh (`--override-input nixpkgs path:...`). Every package is a
# trivial derivation; only names and shapes matter. `lib` is nixpkgs' lib
# when run.sh copied one into ./lib (HORTUS_NIXPKGS_LIB).
{
  description = "nixpkgs stand-in for hortus' offline flake tests";

  outputs =
    { self }:
    let
      lib =
        if builtins.pathExists ./lib then
          import ./lib
        else
          throw "stub nixpkgs: no lib; run tests/nix/run.sh with HORTUS_NIXPKGS_LIB set";

      pkgsFor =
        system:
        let
          stub =
            name:
            derivation {
              inherit name system;
              builder = "/bin/sh";
              args = [
                "-c"
                "echo ${name} > $out"
              ];
            };
          tools = [
            "babeld"
            "bird3"
            "clippy"
            "iperf3"
            "jq"
            "nftables"
            "nixfmt"
            "rustfmt"
            "socat"
            "wireguard-go"
            "wireguard-tools"
          ];
          pkgs =
            builtins.listToAttrs (
              map (name: {
                inherit name;
                value = stub name;
              }) tools
            )
            // {
              inherit lib;
              callPackage =
                fn: args:
                let
                  f = if builtins.isFunction fn then fn else import fn;
                in
                f (builtins.intersectAttrs (builtins.functionArgs f) pkgs // args);
              # Keeps the source and lock file so tests can look at them.
              rustPlatform.buildRustPackage =
                args: stub "${args.pname}-${args.version}" // { inherit (args) src cargoLock; };
              mkShell = args: stub "shell";
              # The test's nodes are evaluated by tests/nix/nixos/run.sh
              # against a real nixpkgs; here only its shape matters.
              testers.runNixOSTest =
                args:
                stub "vm-test-run-${args.name}"
                // {
                  inherit (args) nodes testScript;
                };
              runCommand =
                name: env: script:
                derivation (
                  env
                  // {
                    inherit name system;
                    builder = "/bin/sh";
                    args = [
                      "-c"
                      script
                    ];
                    PATH = "/usr/bin:/bin";
                  }
                );
            };
        in
        pkgs;
    in
    {
      inherit lib;
      legacyPackages = {
        x86_64-linux = pkgsFor "x86_64-linux";
        aarch64-linux = pkgsFor "aarch64-linux";
      };
    };
}

{
  description = "hortus: a full mesh of WireGuard tunnels with Babel routing, from one inventory";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system nixpkgs.legacyPackages.${system};
          }) systems
        );
      mapping = import ./nix/lib.nix;
      run = import ./nix/run.nix;
    in
    {
      packages = forAllSystems (
        system: pkgs: {
          hortus = pkgs.callPackage ./nix/package.nix { };
          default = self.packages.${system}.hortus;
        }
      );

      overlays.default = final: prev: { hortus = final.callPackage ./nix/package.nix { }; };

      # A function, not a path: the module gets lib and pkgs from the user's
      # system and never touches this flake's nixpkgs input.
      nixosModules.hortus = import ./nix/module.nix;
      nixosModules.default = self.nixosModules.hortus;

      # The plan → NixOS mapping (builtins only; see nix/lib.nix) and
      # mkPlan, which runs hortus on an inventory (import from derivation):
      #   hortus.lib.mkPlan { inherit pkgs; inventory = ./hortus.toml; }
      lib = mapping // {
        inherit (run) inventoryFile planDrv renderFile;
        mkPlan =
          {
            pkgs,
            inventory,
            host ? null,
            package ? pkgs.hortus or (pkgs.callPackage ./nix/package.nix { }),
          }:
          run.mkPlan {
            inherit (pkgs) runCommand;
            hortus = package;
            inherit inventory host;
          };
      };

      devShells = forAllSystems (
        system: pkgs: {
          default = pkgs.mkShell {
            inputsFrom = [ self.packages.${system}.hortus ];
            packages = [
              pkgs.clippy
              pkgs.rustfmt
              pkgs.nixfmt
              pkgs.wireguard-tools
              pkgs.wireguard-go
              pkgs.bird3
              pkgs.babeld
              pkgs.nftables
              pkgs.iperf3
              pkgs.socat
              pkgs.jq
            ];
          };
        }
      );

      formatter = forAllSystems (system: pkgs: pkgs.nixfmt);

      checks = forAllSystems (
        system: pkgs:
        {
          # Builds the binary and runs the workspace tests (without the lab).
          hortus = self.packages.${system}.hortus;
          # The mapping of the six-node example plan against the goldens.
          nix-mapping = import ./tests/nix/check-golden.nix {
            inherit (pkgs) runCommand;
            name = "hortus-nix-mapping";
            actual = import ./tests/nix/mapping.nix { planFile = ./tests/nix/golden/six-nodes.plan.json; };
            goldenDir = ./tests/nix/golden;
          };
          # The module under nixpkgs' real module system, with the options
          # it sets declared by stubs (tests/nix/nixos-stubs.nix).
          nixos-module = import ./tests/nix/check-golden.nix {
            inherit (pkgs) runCommand;
            name = "hortus-nixos-module";
            actual = import ./tests/nix/module-eval.nix {
              inherit (nixpkgs) lib;
              planFile = ./tests/nix/golden/six-nodes.plan.json;
            };
            goldenDir = ./tests/nix/golden;
          };
        }
        // (
          if system == "x86_64-linux" then
            {
              # Three NixOS VMs (one behind NAT) with kernel WireGuard,
              # systemd-networkd and BIRD 3: reachability and fail-over.
              # Needs KVM (docs/nixos.md).
              vm-mesh = import ./tests/nix/vm-mesh.nix { inherit pkgs; };
            }
          else
            { }
        )
      );
    };
}

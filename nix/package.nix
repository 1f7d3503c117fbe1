# The `hortus` binary, built from this repository's Rust workspace.
# callPackage-able: `pkgs.callPackage ./nix/package.nix { }`.
{ lib, rustPlatform }:

let
  cargoToml = builtins.fromTOML (builtins.readFile ../Cargo.toml);
in
rustPlatform.buildRustPackage {
  pname = "hortus";
  inherit (cargoToml.workspace.package) version;

  # Only what cargo reads: the workspace manifest, the lock file, the crates
  # and the example inventory the tests use. Editing docs or Nix files does
  # not rebuild the binary.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../crates
      ../examples
    ];
  };

  cargoLock.lockFile = ../Cargo.lock;

  cargoBuildFlags = [
    "--package"
    "hortus"
  ];
  # The lab needs root and network namespaces, which the build sandbox lacks;
  # tests needing other external tools print SKIPPED and pass.
  cargoTestFlags = [
    "--workspace"
    "--exclude"
    "hortus-lab"
  ];

  meta = {
    description = "Plan, render and test a WireGuard + Babel full mesh from one inventory";
    homepage = cargoToml.workspace.package.repository;
    license = lib.licenses.mit;
    mainProgram = "hortus";
    platforms = lib.platforms.linux;
  };
}

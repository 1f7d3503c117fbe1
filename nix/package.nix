# The `hortus` binary, built from this repository's Rust workspace.
# callPackage-able: `pkgs.callPackage ./nix/package.nix { }`.
{ lib, rustPlatform }:

let
  cargoToml = builtins.fromTOML (builtins.readFile ../Cargo.toml);
in
rustPlatform.buildRustPackage {
  pname = "hortus";
  inherit (cargoToml.workspace.package) version;

  # Only what cargo reads: the workspace manifest, the lock file, the crates,
  # nix/render-constants.json (a render test checks it is current)
  # and the example inventory the tests use. Editing docs or Nix files does
  # not rebuild the binary. (builtins.path rather than lib.fileset, which
  # needs a newer Nix than some distributions ship.)
  src = builtins.path {
    name = "hortus-source";
    path = ../.;
    filter =
      path: type:
      let
        relative = lib.removePrefix (toString ../. + "/") (toString path);
      in
      builtins.elem relative [
        "Cargo.toml"
        "Cargo.lock"
        "crates"
        "examples"
        "nix"
        "nix/render-constants.json"
      ]
      || lib.hasPrefix "crates/" relative
      || lib.hasPrefix "examples/" relative;
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

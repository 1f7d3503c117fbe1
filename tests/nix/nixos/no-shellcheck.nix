# For nixpkgs trees without pkgs/development/haskell-modules/hackage-packages.nix
# (the slim clone lacks that blob), where haskellPackages.ShellCheck cannot be
# evaluated: writeShellApplication then takes the path nixpkgs uses on
# platforms without GHC, with no shellcheck run. ./run.sh adds this module only
# to such a tree.
{
  nixpkgs.overlays = [
    (final: prev: {
      shellcheck-minimal = (prev.writeShellScriptBin "shellcheck" "exit 0") // {
        compiler.bootstrapAvailable = false;
      };
    })
  ];
}

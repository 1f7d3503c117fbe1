# The little of nixpkgs that lib.mkPlan and the module's inventory mode use,
# without nixpkgs: `runCommand` as a plain derivation run by the host's
# /bin/sh (build with `--option sandbox false`), and `hortus`, a store copy
# of `hortusDir` (a directory holding bin/hortus, e.g. a fresh cargo build).
{ hortusDir }:
{
  runCommand =
    name: env: script:
    derivation (
      env
      // {
        inherit name;
        system = builtins.currentSystem;
        builder = "/bin/sh";
        args = [
          "-c"
          script
        ];
        PATH = "/usr/bin:/bin";
      }
    );

  hortus = builtins.path {
    path = hortusDir;
    name = "hortus";
  };
}

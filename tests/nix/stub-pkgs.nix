# The little of nixpkgs that lib.mkPlan, the module's inventory mode and its
# perimeter service use,
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

  # What the module's iptables-backend perimeter service names: stand-ins
  # (a store path, and a text file in the store).
  nftables = builtins.toFile "nftables" "";
  writeText = builtins.toFile;

  hortus = builtins.path {
    path = hortusDir;
    name = "hortus";
  };
}

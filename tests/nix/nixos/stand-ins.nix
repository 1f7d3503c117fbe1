# Are the stand-ins of tests/nix/nixos-stubs.nix faithful? Every option they
# declare (sub-options of submodules included) must exist in a whole NixOS
# with the same type (by its description, which names the type and its
# parts, e.g. "attribute set of (submodule)", "sysctl option value",
# "boolean or one of \"strict\", \"loose\"").
#
#   nix-instantiate --eval --strict --json -E '(import ./stand-ins.nix { nixpkgs = ...; }).differences'
{ nixpkgs }:
let
  lib = import (nixpkgs + "/lib");

  stub = lib.evalModules { modules = [ ../nixos-stubs.nix ]; };
  real = import (nixpkgs + "/nixos/lib/eval-config.nix") {
    system = "x86_64-linux";
    modules = [ ];
  };

  # [ { path = [ "systemd" "services" "<name>" "after" ]; type = "..."; } ]
  flatten =
    prefix: options:
    lib.concatLists (
      lib.mapAttrsToList (
        name: value:
        let
          path = prefix ++ [ name ];
        in
        if name == "_module" then
          [ ]
        else if lib.isOption value then
          [
            {
              inherit path;
              type = value.type.description;
            }
          ]
          ++ subOptions path value.type
        else if lib.isAttrs value then
          flatten path value
        else
          [ ]
      ) options
    );
  subOptions =
    path: type:
    let
      sub = type.getSubOptions [ ];
    in
    if sub == { } then [ ] else flatten (path ++ [ "<name>" ]) sub;

  # The option of the whole NixOS at `path` ("<name>" steps into a submodule).
  lookup =
    options: path:
    if path == [ ] then
      options
    else
      let
        head = builtins.head path;
        rest = builtins.tail path;
      in
      if lib.isOption options then
        (if head == "<name>" then lookup (options.type.getSubOptions [ ]) rest else null)
      else if builtins.isAttrs options && options ? ${head} then
        lookup options.${head} rest
      else
        null;

  compare =
    { path, type }:
    let
      found = lookup real.options path;
    in
    if found == null || !lib.isOption found then
      {
        option = lib.concatStringsSep "." path;
        stub = type;
        nixos = null;
      }
    else if found.type.description != type then
      {
        option = lib.concatStringsSep "." path;
        stub = type;
        nixos = found.type.description;
      }
    else
      null;

  declared = flatten [ ] stub.options;
in
{
  count = builtins.length declared;
  differences = builtins.filter (d: d != null) (map compare declared);
}

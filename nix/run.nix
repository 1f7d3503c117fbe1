# Running hortus inside derivations: the plan (read back at evaluation time,
# i.e. import from derivation) and the rendered routing-daemon configs.
#
# Needs only builtins plus the caller's `runCommand` (nixpkgs'
# `pkgs.runCommand name env script`, or any function with that shape) and a
# hortus package (anything with `bin/hortus` under its store path).
let
  inherit (builtins)
    attrNames
    concatStringsSep
    foldl'
    isAttrs
    isList
    match
    replaceStrings
    toJSON
    typeOf
    ;

  # `s` quoted for sh.
  shellArg = s: "'${replaceStrings [ "'" ] [ "'\\''" ] s}'";

  # Nix path values anywhere in an attrset inventory, as `a.b.c` names. A path
  # would be copied into the world-readable store by `toJSON`; the inventory
  # only ever needs plain strings (key *file* paths are strings).
  nixPaths =
    where: value:
    if typeOf value == "path" then
      [ where ]
    else if isAttrs value then
      foldl' (acc: name: acc ++ nixPaths "${where}.${name}" value.${name}) [ ] (attrNames value)
    else if isList value then
      foldl' (acc: item: acc ++ nixPaths "${where}[]" item) [ ] value
    else
      [ ];
in
rec {
  /**
    The inventory as a file in the store that `hortus` reads: an attrset is
    written as JSON, a path (TOML, or JSON when it ends in `.json`) is copied.
  */
  inventoryFile =
    inventory:
    if isAttrs inventory then
      let
        paths = nixPaths "inventory" inventory;
      in
      if paths != [ ] then
        throw "hortus: ${concatStringsSep ", " paths} is a Nix path; write it as a string (\"/run/...\"): a path would be copied into the world-readable Nix store"
      else
        builtins.toFile "hortus-inventory.json" (toJSON inventory)
    else
      builtins.path {
        path = inventory;
        name = if match ".*\\.json" (toString inventory) != null then "hortus-inventory.json" else "hortus-inventory.toml";
      };

  /**
    A derivation whose output is `hortus plan` of `inventory` (the whole plan,
    or `host`'s view when `host` is not null).
  */
  planDrv =
    {
      runCommand,
      hortus,
      inventory,
      host ? null,
    }:
    runCommand "hortus-plan.json" { } ''
      ${hortus}/bin/hortus plan ${inventoryFile inventory}${
        if host == null then "" else " --host ${shellArg host}"
      } > "$out"
    '';

  /**
    The plan as a Nix value: `builtins.fromJSON` of `planDrv` (import from
    derivation: evaluation builds the derivation first).
  */
  mkPlan = args: builtins.fromJSON (builtins.readFile (planDrv args));

  /**
    A derivation whose output is the file `hortus render --format format`
    prints for `host` (`bird` or `babeld`), with `args` (a list of strings)
    added to the command line. Reading it during evaluation, as the module
    does, is import from derivation.
  */
  renderFile =
    {
      runCommand,
      hortus,
      inventory,
      host,
      format,
      args ? [ ],
    }:
    runCommand "hortus-${format}.conf" { } ''
      ${hortus}/bin/hortus render ${inventoryFile inventory} --host ${shellArg host} --format ${shellArg format}${
        builtins.concatStringsSep "" (map (arg: " " + shellArg arg) args)
      } > "$out"
    '';
}

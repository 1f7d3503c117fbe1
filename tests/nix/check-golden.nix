# A derivation that exists only if every host's `actual` values equal
# `goldenDir/<host>.json`; otherwise evaluation fails naming the host and the
# part that differs.
{
  runCommand,
  name,
  actual,
  goldenDir,
}:
let
  golden = host: builtins.fromJSON (builtins.readFile (goldenDir + "/${host}.json"));
  differing =
    host:
    builtins.filter (part: actual.${host}.${part} != (golden host).${part} or null) (
      builtins.attrNames actual.${host}
    );
  problems = builtins.concatMap (
    host: map (part: "${host}: ${part}") (differing host)
  ) (builtins.attrNames actual);
in
if problems == [ ] then
  runCommand name { } ''echo ${toString (builtins.attrNames actual)} > "$out"''
else
  throw "${name}: differs from ${toString goldenDir}: ${builtins.concatStringsSep ", " problems}"

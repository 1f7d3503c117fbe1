# The option reference of docs/nixos.md ("## Options"), generated from the
# declarations of services.hortus in nix/module.nix and the modules it
# imports: one markdown table row per visible option (name, type, default,
# description), sorted by name.
#
#   nix-instantiate --eval --strict --json tests/nix/option-docs.nix -A markdown
#
# Without arguments it needs only Nix's builtins (CI has no nixpkgs): each
# module file is called with a small stand-in `lib` below that holds what
# option declarations use (mkOption, mkEnableOption, literalExpression,
# literalMD and the types, each with nixpkgs' description), and only its
# `options` are read; `config` and `pkgs` are left unusable, so a default
# that needs them must have a `defaultText`, as nixpkgs' manual requires.
#
# With `lib` (nixpkgs' lib), the same table comes from the real
# lib.evalModules (with ./nixos-stubs.nix) and lib.optionAttrSetToDocList,
# as nixosOptionsDoc reads options; tests/nix/run.sh checks that both agree,
# which keeps the stand-in honest.
#
# scripts/nixos-option-docs.sh writes the table into docs/nixos.md;
# tests/nix/run.sh fails when docs/nixos.md holds another.
{
  lib ? null,
}:
let
  inherit (builtins)
    attrNames
    concatLists
    concatMap
    concatStringsSep
    filter
    isAttrs
    isString
    length
    map
    replaceStrings
    sort
    ;

  root = [
    "services"
    "hortus"
  ];
  prefix = concatStringsSep "." root + ".";
  prefixLength = builtins.stringLength prefix;

  # ------------------------------------------------------ the stand-in lib
  # nixpkgs' lib/types.nix: a description and its class, which decides
  # where a type nested in another gets parentheses.
  phrase = unparenthesize: t: if unparenthesize (t.descriptionClass or null) then t.description else "(${t.description})";
  noun = description: {
    inherit description;
    descriptionClass = "noun";
  };
  showEnumValue =
    v:
    if isString v then
      ''"${v}"''
    else if builtins.isBool v then
      (if v then "true" else "false")
    else
      toString v;

  standInLib = rec {
    mkOption = attrs: attrs // { _type = "option"; };
    mkEnableOption =
      name:
      mkOption {
        type = types.bool;
        default = false;
        example = true;
        description = "Whether to enable ${name}.";
      };
    literalExpression = text: {
      _type = "literalExpression";
      inherit text;
    };
    literalMD = text: {
      _type = "literalMD";
      inherit text;
    };
    types = {
      anything = noun "anything";
      bool = noun "boolean";
      lines = noun "strings concatenated with \"\\n\"";
      package = noun "package";
      # pathWith { absolute = true; } since nixpkgs 25.05; "path" before.
      path = noun "absolute path";
      str = noun "string";
      strMatching = pattern: noun "string matching the pattern ${pattern}";
      enum = values: {
        description =
          if values == [ ] then
            "impossible (empty enum)"
          else if length values == 1 then
            "value ${showEnumValue (builtins.head values)} (singular enum)"
          else
            "one of ${concatStringsSep ", " (map showEnumValue values)}";
        descriptionClass = if length values < 2 then "noun" else "conjunction";
      };
      nullOr = t: {
        description = "null or ${phrase (c: c == "noun" || c == "conjunction") t}";
        descriptionClass = "conjunction";
      };
      either = t1: t2: {
        description =
          if t1.descriptionClass or null == "nonRestrictiveClause" then
            "${t1.description}, or ${phrase (c: c == "noun" || c == "conjunction") t2}"
          else
            "${phrase (c: c == "noun" || c == "conjunction") t1} or ${
              phrase (c: c == "noun" || c == "conjunction" || c == "composite") t2
            }";
        descriptionClass = "conjunction";
      };
      attrsOf = t: {
        description = "attribute set of ${phrase (c: c == "noun" || c == "composite") t}";
        descriptionClass = "composite";
      };
    };
  };

  # A module's `options`, and those of the modules it imports (a module is
  # a file, an attribute set, or a function of the arguments it names).
  unusable =
    what:
    throw "option-docs.nix: an option's default reads ${what}, which the docs do not have; give the option a defaultText";
  moduleArgs = {
    config = unusable "config";
    pkgs = unusable "pkgs";
    lib = standInLib;
  };
  moduleOptions =
    m:
    let
      loaded = if builtins.isPath m || isString m then import m else m;
      module =
        if builtins.isFunction loaded then
          loaded (builtins.intersectAttrs (builtins.functionArgs loaded) moduleArgs)
        else
          loaded;
    in
    [ (module.options or { }) ] ++ concatMap moduleOptions (module.imports or [ ]);

  # [ { loc; opt; } ] of every option in an option tree.
  flatten =
    loc: tree:
    if (tree._type or null) == "option" then
      [
        {
          inherit loc;
          opt = tree;
        }
      ]
    else
      concatMap (name: flatten (loc ++ [ name ]) tree.${name}) (attrNames tree);

  # nixpkgs' lib.options.renderOptionValue, for the values a default here
  # may have without a defaultText.
  renderValue =
    v:
    if isAttrs v && v ? _type && v ? text then
      v
    else
      standInLib.literalExpression (
        if v == null then
          "null"
        else if builtins.isBool v || builtins.isInt v || isString v then
          builtins.toJSON v
        else
          throw "option-docs.nix: give a default of type ${builtins.typeOf v} a defaultText"
      );

  standInDocs = map (
    { loc, opt }:
    {
      name = concatStringsSep "." loc;
      description = opt.description or null;
      type = opt.type.description or "unspecified";
      readOnly = opt.readOnly or false;
      internal = opt.internal or false;
      visible = opt.visible or true;
    }
    // (if opt ? defaultText || opt ? default then { default = renderValue (opt.defaultText or opt.default); } else { })
  ) (concatMap (flatten [ ]) (moduleOptions ../../nix/module.nix));

  # --------------------------------------------------- nixpkgs' real lib
  realDocs =
    let
      evaluated = lib.evalModules {
        modules = [
          ../../nix/module.nix
          ./nixos-stubs.nix
          { _module.args.pkgs = unusable "pkgs"; }
        ];
      };
    in
    lib.optionAttrSetToDocList (lib.attrByPath root { } evaluated.options);

  # ------------------------------------------------------------ the table
  docs = if lib == null then standInDocs else realDocs;
  # The documented options, sorted, with what the table shows of each.
  documented = d: d.visible == true && !d.internal && builtins.substring 0 prefixLength d.name == prefix;
  options = map (d: {
    inherit (d) name type readOnly;
    description = d.description or null;
    default = d.default or null;
  }) (sort (a: b: a.name < b.name) (filter documented docs));

  # One table cell: one line, no unescaped `|`.
  cell = text: replaceStrings [ "|" ] [ "\\|" ] (oneLine text);
  oneLine = text: concatStringsSep " " (filter (l: isString l && l != "") (builtins.split "\n" text));
  # `text` as inline code, with a longer fence when it holds a backtick.
  code =
    text:
    let
      fence = if builtins.match ".*`.*" text != null then "``" else "`";
    in
    "${fence}${if fence == "``" then " ${text} " else text}${fence}";
  # Markdown (`*`, `\`, `[`, ...) in a type, e.g. strMatching's pattern:
  # shown as code.
  typeCell =
    d:
    (if builtins.match ".*[][\\\\*_<>`].*" d.type != null then code d.type else d.type)
    + (if d.readOnly then ", read-only" else "");
  defaultCell =
    d:
    if d.default == null then
      ""
    else if d.default._type == "literalMD" then
      d.default.text
    else
      code (oneLine d.default.text);
  # The manual's roles ({option}`x`) as plain inline code.
  descriptionCell =
    d:
    replaceStrings [ "{option}`" "{command}`" "{file}`" "{env}`" "{var}`" ] [ "`" "`" "`" "`" "`" ] (
      if d.description == null then "" else d.description
    );
  row =
    d:
    "| ${
      concatStringsSep " | " (
        map cell [
          (code (builtins.substring prefixLength (-1) d.name))
          (typeCell d)
          (defaultCell d)
          (descriptionCell d)
        ]
      )
    } |\n";
in
{
  # [ { name; type; default; description; readOnly; } ], for the comparison
  # of the stand-in with nixpkgs' lib in tests/nix/run.sh.
  inherit options;
  markdown = "| option | type | default | description |\n|---|---|---|---|\n" + concatStringsSep "" (map row options);
}

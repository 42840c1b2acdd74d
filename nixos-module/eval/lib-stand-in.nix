# STAND-IN, NOT NIXPKGS. A minimal imitation of the few `lib` functions and
# module-system behaviours that nixos-module/rld.nix uses, so that its logic
# can be evaluated with a bare `nix-instantiate` where nixpkgs is not
# available. It is deliberately small: one module, option defaults, user
# settings checked against a few types, `mkIf` (also nested), `mkMerge`.
# No priorities, no submodules, no definition merging between modules.
#
# To evaluate the same test with the real module system instead:
#   nix-instantiate --eval --strict nixos-module/eval --arg lib 'import <nixpkgs/lib>'
let
  inherit (builtins)
    all
    concatStringsSep
    filter
    foldl'
    isAttrs
    isList
    isString
    map
    mapAttrs
    match
    ;

  isDerivation = v: isAttrs v && (v.type or null) == "derivation";

  # The `lib` the module under test receives.
  lib = rec {
    inherit concatStringsSep;

    mkOption = attrs: attrs // { _type = "option"; };

    mkEnableOption = name: mkOption {
      type = types.bool;
      default = false;
      example = true;
      description = "Whether to enable ${name}.";
    };

    mkPackageOption =
      pkgs: name:
      { example ? null
      }:
      mkOption
        {
          type = types.package;
          default = pkgs.${name};
          defaultText = literalExpression "pkgs.${name}";
          description = "The ${name} package to use.";
        }
      // (if example == null then { } else { example = literalExpression example; });

    literalExpression = text: {
      _type = "literalExpression";
      inherit text;
    };

    mkIf = condition: content: {
      _type = "if";
      inherit condition content;
    };

    mkMerge = contents: {
      _type = "merge";
      inherit contents;
    };

    optional = cond: x: if cond then [ x ] else [ ];
    optionals = cond: xs: if cond then xs else [ ];
    optionalAttrs = cond: as: if cond then as else { };

    # As nixpkgs' getLib: the `lib` output where the package has one.
    getLib = p: p.lib or p.out or p;

    types = {
      bool = {
        description = "boolean";
        check = builtins.isBool;
      };
      package = {
        description = "package";
        check = isDerivation;
      };
      strMatching = pattern: {
        description = "string matching the pattern ${pattern}";
        check = v: isString v && match pattern v != null;
      };
      listOf = elem: {
        description = "list of ${elem.description}";
        check = v: isList v && all elem.check v;
      };
    };
  };

  isAbsent = v: isAttrs v && (v._type or null) == "absent";

  isOption = v: isAttrs v && (v._type or null) == "option";

  # `a` with `b`'s leaves on top; derivations and non-attrsets are leaves.
  update =
    a: b:
    if isAttrs a && isAttrs b && !isDerivation a && !isDerivation b then
      a // mapAttrs (n: v: if a ? ${n} then update a.${n} v else v) b
    else
      b;

  # The value of every declared option: the user's setting, type-checked,
  # or the option's default.
  optionValues =
    path: settings: node:
    if isOption node then
      if settings != null then
        if node.type.check settings then
          settings
        else
          throw "stand-in: the option `${concatStringsSep "." path}' is not of type `${node.type.description}'"
      else
        node.default
    else
      mapAttrs (n: optionValues (path ++ [ n ]) (if isAttrs settings then settings.${n} or null else null)) node;

  # Resolves `mkIf` and `mkMerge` at any depth of the definition tree
  # (module definitions are not merged with any other). A `mkIf false`
  # definition becomes the marker `absent` instead of disappearing: dropping
  # it would force every definition just to find out whether it is one, and
  # the real module system leaves untouched definitions unevaluated.
  absent = {
    _type = "absent";
  };
  resolve =
    v:
    if isAttrs v && (v._type or null) == "if" then
      if v.condition then resolve v.content else absent
    else if isAttrs v && (v._type or null) == "merge" then
      foldl' update { } (filter (x: !isAbsent x) (map resolve v.contents))
    else if isAttrs v && !isDerivation v && !(v ? _type) then
      mapAttrs (_: resolve) v
    else
      v;

  # Evaluates one module with `settings` as the user's configuration.
  # `external` gives the other NixOS options the module reads (e.g.
  # programs.nix-ld.enable) their defaults. Returns the module's own
  # definitions (`config`; a `mkIf false` one reads as `absent`) and its
  # declared `options`.
  evalModule =
    { module
    , pkgs
    , settings
    , external
    }:
    let
      declared = (if builtins.isPath module then import module else module) {
        inherit lib pkgs;
        config = update (update external settings) (optionValues [ ] settings declared.options);
      };
      defined = resolve declared.config;
    in
    if isAbsent defined then
      {
        config = { };
        inherit (declared) options;
      }
    else
      {
        config = defined;
        inherit (declared) options;
      };
in
{
  inherit lib evalModule isAbsent;
}

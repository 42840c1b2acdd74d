# Runs the evaluation test with nixpkgs' real `lib.evalModules` instead of
# the stand-in: used by default.nix when it is given `--arg lib`. Declares the
# handful of NixOS options the module defines or reads, with the types
# NixOS gives them, so the module is type-checked and merged for real.
lib:
{ module
, pkgs
, settings
, external
}:
let
  inherit (lib) mkOption types;

  nixosOptions = {
    options = {
      assertions = mkOption {
        type = types.listOf types.unspecified;
        default = [ ];
      };
      warnings = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      meta = mkOption {
        type = types.lazyAttrsOf types.raw;
        default = { };
      };
      environment = {
        ldso = mkOption {
          type = types.nullOr types.path;
          default = null;
        };
        ldso32 = mkOption {
          type = types.nullOr types.path;
          default = null;
        };
        systemPackages = mkOption {
          type = types.listOf types.package;
          default = [ ];
        };
        pathsToLink = mkOption {
          type = types.listOf types.str;
          default = [ ];
        };
        sessionVariables = mkOption {
          type = types.attrsOf (types.either types.str (types.listOf types.str));
          default = { };
        };
      };
      programs.nix-ld.enable = mkOption {
        type = types.bool;
        default = external.programs.nix-ld.enable;
      };
    };
  };

  result = lib.evalModules {
    modules = [
      module
      nixosOptions
      { config = settings; }
    ];
    specialArgs = { inherit pkgs; };
  };
in
{
  inherit (result) config options;
}

# Declarations of the NixOS options that nixos-module/rld.nix defines or
# reads, for evaluating it without NixOS. Only declarations: the types are
# the real lib.types, chosen to match what NixOS declares, so that the
# module's definitions are type-checked and merged as they would be in a
# system. Nothing here implements what NixOS does with the values.
{ lib, ... }:

let
  inherit (lib) mkOption types;
in
{
  options = {
    assertions = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
    warnings = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    meta.maintainers = mkOption {
      type = types.listOf types.raw;
      default = [ ];
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

    # programs.rld.emulatedSystems: its default, its tmpfiles rules (shared
    # with programs.rld.ldconfig.enable's /sbin/ldconfig), and the
    # nixpkgs settings its package sets of other systems are imported with.
    boot.binfmt.emulatedSystems = mkOption {
      type = types.listOf (types.enum [
        "x86_64-linux"
        "i686-linux"
        "aarch64-linux"
        "riscv64-linux"
        "armv7l-linux"
        "powerpc64le-linux"
        "wasm32-wasi"
        "x86_64-windows"
      ]);
      default = [ ];
    };
    # programs.rld.graphicsDrivers' default.
    hardware.graphics.enable = mkOption {
      type = types.bool;
      default = false;
    };
    hardware.graphics.enable32Bit = mkOption {
      type = types.bool;
      default = false;
    };
    systemd.globalEnvironment = mkOption {
      type = types.attrsOf types.str;
      default = { };
    };
    systemd.tmpfiles.rules = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    nixpkgs.config = mkOption {
      type = types.attrsOf types.raw;
      default = { };
    };
    nixpkgs.overlays = mkOption {
      type = types.listOf (types.functionTo (types.functionTo (types.attrsOf types.raw)));
      default = [ ];
    };

    # Read by the module's conflict assertion.
    programs.nix-ld.enable = lib.mkEnableOption "nix-ld";
  };
}

# Enabling rld together with nix-ld fails evaluation with rld's assertion.
# Not a VM test: it evaluates a NixOS system and inspects its assertions,
# then checks that building the system would be refused.
{ pkgs, self }:
let
  inherit (pkgs) lib;

  system = pkgs.nixos {
    imports = [ self.nixosModules.default ];
    programs.rld.enable = true;
    programs.nix-ld.enable = true;
    boot.loader.grub.enable = false;
    fileSystems."/".device = "none";
    system.stateVersion = lib.trivial.release;
  };

  failed = map (a: a.message) (lib.filter (a: !a.assertion) system.config.assertions);
  oneLine = lib.replaceStrings [ "\n" ] [ " " ];
  ours = lib.filter (m: lib.hasInfix "Set programs.nix-ld.enable = false" (oneLine m)) failed;
  refused = !(builtins.tryEval system.config.system.build.toplevel.drvPath).success;
in
pkgs.runCommand "rld-nix-ld-conflict"
{
  failed = builtins.toJSON failed;
  passed = if ours != [ ] && refused then "yes" else "no";
}
  ''
    echo "failed assertions: $failed"
    if [ "$passed" != yes ]; then
      echo "expected rld's assertion about programs.nix-ld.enable and a refused build" >&2
      exit 1
    fi
    touch $out
  ''

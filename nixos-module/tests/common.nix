# Shared by the VM tests: programs as a binary downloaded for another
# distribution would be.
{ pkgs }:
let
  inherit (pkgs) lib stdenv;
in
rec {
  # The FHS interpreter path of this platform, e.g. /lib64/ld-linux-x86-64.so.2.
  interpreter = "/${stdenv.hostPlatform.libDir}/${
    builtins.unsafeDiscardStringContext (baseNameOf stdenv.cc.bintools.dynamicLinker)
  }";

  # NIX_LD_x86_64_linux and friends.
  systemSuffix = builtins.replaceStrings [ "-" ] [ "_" ] stdenv.hostPlatform.system;

  # Compiles `source` with nixpkgs' compiler, then sets the ELF interpreter to
  # the FHS path and removes the RUNPATH: what NixOS sees in a binary built on
  # another distribution. A Nix-built program would name the store's ld.so
  # and never reach rld, so tests using it would pass for the wrong reason.
  unpatched =
    { name
    , source
    , libraries ? [ ]
    , linkFlags ? [ ]
    }:
    pkgs.runCommandCC name
      {
        nativeBuildInputs = [ pkgs.patchelf ];
        buildInputs = libraries;
        inherit source;
        passAsFile = [ "source" ];
      }
      ''
        mkdir -p $out/bin
        $CC -x c "$sourcePath" -o $out/bin/${name} ${lib.escapeShellArgs linkFlags}
        patchelf --set-interpreter ${interpreter} --remove-rpath $out/bin/${name}
        if readelf -d $out/bin/${name} | grep -q 'RPATH\|RUNPATH'; then
          echo "${name} still has a RUNPATH" >&2
          exit 1
        fi
      '';
}

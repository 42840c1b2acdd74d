# programs.rld.emulatedSystems on an x86_64 machine that runs aarch64
# programs through boot.binfmt.emulatedSystems (qemu-user): an unpatched
# aarch64 binary (interpreter /lib/ld-linux-aarch64.so.1, no RUNPATH) that
# needs zlib runs from a login shell and under env -i, with the aarch64
# ld.so and zlib the module links under /run/current-system/sw/share/rld-aarch64-linux.
# Defined for x86_64-linux only (the flake's checks).
{ pkgs, self }:
let
  cross = pkgs.pkgsCross.aarch64-multiplatform;

  # Built with the cross compiler, then made to look like a download for
  # another distribution, as common.nix's `unpatched` does natively.
  program =
    cross.runCommandCC "hello-zlib-aarch64"
      {
        nativeBuildInputs = [ pkgs.patchelf ];
        buildInputs = [ cross.zlib ];
        source = ''
          #include <stdio.h>
          #include <stdlib.h>
          #include <zlib.h>
          int main(void) {
            printf("aarch64 hello, zlib %s, LD_LIBRARY_PATH %s\n",
                   zlibVersion(), getenv("LD_LIBRARY_PATH") ? "set" : "unset");
            return 0;
          }
        '';
        passAsFile = [ "source" ];
      }
      ''
        mkdir -p $out/bin
        $CC -x c "$sourcePath" -o $out/bin/hello-zlib -lz
        patchelf --set-interpreter /lib/ld-linux-aarch64.so.1 --remove-rpath $out/bin/hello-zlib
      '';
in
pkgs.testers.runNixOSTest {
  name = "rld-emulated-aarch64";

  nodes.machine = {
    imports = [ self.nixosModules.default ];
    boot.binfmt.emulatedSystems = [ "aarch64-linux" ];
    programs.rld.enable = true;
  };

  testScript = ''
    machine.wait_for_unit("multi-user.target")

    with subtest("the aarch64 interpreter path is the aarch64 rld-loader"):
        target = machine.succeed("readlink -f /lib/ld-linux-aarch64.so.1").strip()
        assert target.endswith("-rld-loader-aarch64-linux-configured"), target
        version = machine.succeed("/lib/ld-linux-aarch64.so.1 --version").splitlines()[0]
        assert version.startswith("rld-loader "), version

    with subtest("the aarch64 prefix and variables"):
        machine.succeed("test -e /run/current-system/sw/share/rld-aarch64-linux/lib/ld.so")
        machine.succeed("test -e /run/current-system/sw/share/rld-aarch64-linux/lib/libz.so.1")
        # No session variables: the configured loader names its ld.so.
        machine.succeed('test -z "$NIX_LD_aarch64_linux"')

    expected = "aarch64 hello, zlib ${cross.zlib.version}, LD_LIBRARY_PATH unset\n"

    with subtest("an unpatched aarch64 binary runs from a login shell"):
        out = machine.succeed("${program}/bin/hello-zlib")
        assert out == expected, repr(out)

    with subtest("and with no variable at all"):
        out = machine.succeed("env -i ${program}/bin/hello-zlib")
        assert out == expected, repr(out)

    with subtest("control: with another library path, zlib is not found"):
        out = machine.fail("env -i NIX_LD_LIBRARY_PATH_aarch64_linux=/var/empty ${program}/bin/hello-zlib 2>&1")
        assert "libz.so.1" in out, out
  '';
}

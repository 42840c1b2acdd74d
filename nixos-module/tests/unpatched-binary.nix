# An unpatched binary (interpreter /lib64/ld-linux-x86-64.so.2, no RUNPATH)
# that needs libstdc++ and zlib from the default library list runs from a
# login shell, and the FHS interpreter path is rld-loader.
{ pkgs, self }:
let
  common = import ./common.nix { inherit pkgs; };

  hello = common.unpatched {
    name = "hello-zlib";
    libraries = [ pkgs.zlib ];
    linkFlags = [ "-lz" ];
    source = ''
      #include <stdio.h>
      #include <stdlib.h>
      #include <zlib.h>
      int main(void) {
        printf("hello from an unpatched binary, zlib %s, LD_LIBRARY_PATH %s\n",
               zlibVersion(), getenv("LD_LIBRARY_PATH") ? "set" : "unset");
        return 0;
      }
    '';
  };
in
pkgs.testers.runNixOSTest {
  name = "rld-unpatched-binary";

  nodes.machine = {
    imports = [ self.nixosModules.default ];
    programs.rld.enable = true;
  };

  testScript =
    let
      # The module installs a configured copy of the package's loader.
      loader = "-rld-loader-configured";
    in
    ''
      machine.wait_for_unit("multi-user.target")

      with subtest("the interpreter path is rld-loader"):
          target = machine.succeed("readlink -f ${common.interpreter}").strip()
          assert target.endswith("${loader}"), f"${common.interpreter} -> {target}"
          version = machine.succeed("${common.interpreter} --version").splitlines()[0]
          assert version.startswith("rld-loader "), version

      with subtest("no session variables; the loader carries the configuration"):
          machine.succeed('test -z "$NIX_LD"')
          machine.succeed('test -z "$NIX_LD_LIBRARY_PATH"')
          machine.succeed("test -e /run/current-system/sw/share/rld/lib/ld.so")
          machine.succeed("test -e /run/current-system/sw/share/rld/lib/libz.so.1")
          env = machine.succeed("rld env")
          assert "(from the configuration of rld-loader at ${common.interpreter})" in env, env
          assert "/nix/store/" in env.splitlines()[1], env

      with subtest("an unpatched binary runs, and LD_LIBRARY_PATH stays unset for it"):
          out = machine.succeed("env -u LD_LIBRARY_PATH ${hello}/bin/hello-zlib")
          assert out == "hello from an unpatched binary, zlib ${pkgs.zlib.version}, LD_LIBRARY_PATH unset\n", repr(out)
    '';
}

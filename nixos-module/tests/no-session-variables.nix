# Without any NIX_LD* variable (an empty environment, a system service) the
# configured loader the module installs still finds ld.so and the libraries,
# with the variable the module gives services to lend (RLD_SERVICE) and
# without it.
{ pkgs, self }:
let
  common = import ./common.nix { inherit pkgs; };

  probe = common.unpatched {
    name = "probe-zlib";
    libraries = [ pkgs.zlib ];
    linkFlags = [ "-lz" ];
    source = ''
      #include <stdio.h>
      #include <stdlib.h>
      #include <zlib.h>
      int main(void) {
        printf("zlib %s, NIX_LD %s\n", zlibVersion(), getenv("NIX_LD") ? "set" : "unset");
        return 0;
      }
    '';
  };
in
pkgs.testers.runNixOSTest {
  name = "rld-no-session-variables";

  nodes.machine = {
    imports = [ self.nixosModules.default ];
    programs.rld.enable = true;

    systemd.services.unpatched-probe = {
      description = "An unpatched binary run by systemd, which sets no session variables";
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${probe}/bin/probe-zlib";
        StandardOutput = "file:/run/unpatched-probe.out";
      };
    };
    # Without programs.rld.serviceVariable's RLD_SERVICE, rld has nothing to
    # lend and starts ld.so by hand; systemd starts the program through a
    # descriptor (fexecve), which ld.so then opens as /proc/self/exe.
    systemd.services.unpatched-probe-by-hand = {
      description = "The same, with nothing in its environment for rld to lend";
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${probe}/bin/probe-zlib";
        UnsetEnvironment = "RLD_SERVICE";
        StandardOutput = "file:/run/unpatched-probe-by-hand.out";
      };
    };
  };

  testScript = ''
    expected = "zlib ${pkgs.zlib.version}, NIX_LD unset\n"
    machine.wait_for_unit("multi-user.target")

    with subtest("env -i"):
        out = machine.succeed("env -i ${probe}/bin/probe-zlib")
        assert out == expected, repr(out)

    with subtest("a systemd service"):
        machine.succeed("systemctl start unpatched-probe.service")
        out = machine.succeed("cat /run/unpatched-probe.out")
        assert out == expected, repr(out)

    with subtest("a systemd service with nothing to lend (ld.so run by hand)"):
        machine.succeed("systemctl start unpatched-probe-by-hand.service")
        out = machine.succeed("cat /run/unpatched-probe-by-hand.out")
        assert out == expected, repr(out)
  '';
}

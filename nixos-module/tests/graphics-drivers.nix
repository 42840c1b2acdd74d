# With hardware.graphics.enable, an unpatched program started with no
# variable at all (a systemd service) dlopen()s libGL.so.1 from the driver's
# /run/opengl-driver/lib, which the configured loader's library path holds;
# with programs.rld.graphicsDrivers = false on a second machine it cannot.
{ pkgs, self }:
let
  common = import ./common.nix { inherit pkgs; };

  probe = common.unpatched {
    name = "probe-gl";
    libraries = [ ];
    linkFlags = [ "-ldl" ];
    source = ''
      #include <dlfcn.h>
      #include <stdio.h>
      int main(void) {
        puts(dlopen("libGL.so.1", RTLD_NOW) ? "libGL loaded" : dlerror());
        return 0;
      }
    '';
  };

  machine = graphicsDrivers: {
    imports = [ self.nixosModules.default ];
    hardware.graphics.enable = true;
    programs.rld = {
      enable = true;
      inherit graphicsDrivers;
    };
    systemd.services.probe-gl = {
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${probe}/bin/probe-gl";
        StandardOutput = "file:/run/probe-gl.out";
      };
    };
  };
in
pkgs.testers.runNixOSTest {
  name = "rld-graphics-drivers";

  nodes = {
    withDrivers = machine true;
    withoutDrivers = machine false;
  };

  testScript = ''
    start_all()
    for m in [withDrivers, withoutDrivers]:
        m.wait_for_unit("multi-user.target")
        m.succeed("systemctl start probe-gl")

    env = withDrivers.succeed("rld env")
    assert "/run/opengl-driver/lib" in env, env
    assert withDrivers.succeed("cat /run/probe-gl.out") == "libGL loaded\n"

    assert "/run/opengl-driver/lib" not in withoutDrivers.succeed("rld env")
    out = withoutDrivers.succeed("cat /run/probe-gl.out")
    assert "libGL.so.1" in out and "cannot open shared object file" in out, out
  '';
}

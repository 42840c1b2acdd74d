# A setuid wrapper around an unpatched binary ignores a hostile NIX_LD: rld
# uses only its compiled-in ld.so for privileged programs. The control runs
# the same binary without privileges and the same variables, where the
# hostile "ld.so" must run, so the test cannot pass because the hostile file
# is broken.
{ pkgs, self }:
let
  inherit (pkgs) lib;
  common = import ./common.nix { inherit pkgs; };

  marker = "HOSTILE-LDSO-RAN";

  # What an attacker would point NIX_LD at: a position-independent ELF
  # (ET_DYN, like a real ld.so) without libc, so that it runs when mapped and
  # jumped to; it writes the marker and exits 66.
  hostile =
    pkgs.runCommandCC "hostile-ldso"
      {
        hardeningDisable = [ "all" ];
        source = ''
          static const char marker[] = "${marker}\n";
          void _start(void) {
          #if defined(__x86_64__)
            long ret;
            __asm__ volatile("syscall" : "=a"(ret) : "a"(1), "D"(1), "S"(marker), "d"(sizeof marker - 1) : "rcx", "r11", "memory");
            __asm__ volatile("syscall" : : "a"(231), "D"(66) : "rcx", "r11");
          #elif defined(__aarch64__)
            register long x0 __asm__("x0") = 1;
            register long x1 __asm__("x1") = (long)marker;
            register long x2 __asm__("x2") = sizeof marker - 1;
            register long x8 __asm__("x8") = 64;
            __asm__ volatile("svc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x8) : "memory");
            x0 = 66;
            x8 = 94;
            __asm__ volatile("svc #0" : : "r"(x0), "r"(x8));
          #else
          #error "no hostile ld.so for this architecture"
          #endif
            for (;;) {
            }
          }
        '';
        passAsFile = [ "source" ];
      }
      ''
        $CC -x c "$sourcePath" -O2 -fPIC -shared -nostdlib -Wl,-e,_start -Wl,-z,noexecstack -o $out
      '';

  whoami = common.unpatched {
    name = "rld-whoami";
    source = ''
      #include <stdio.h>
      #include <unistd.h>
      int main(void) {
        printf("euid %d\n", (int)geteuid());
        return 0;
      }
    '';
  };

  # Every variable through which an unprivileged caller could choose ld.so.
  hostileEnv = lib.concatStringsSep " " [
    "NIX_LD=${hostile}"
    "NIX_LD_${common.systemSuffix}=${hostile}"
  ];
in
pkgs.testers.runNixOSTest {
  name = "rld-setuid-wrapper";

  nodes.machine = {
    imports = [ self.nixosModules.default ];
    programs.rld.enable = true;
    users.users.alice.isNormalUser = true;
    security.wrappers.rld-whoami = {
      source = "${whoami}/bin/rld-whoami";
      owner = "root";
      group = "root";
      setuid = true;
    };
  };

  testScript = ''
    machine.wait_for_unit("multi-user.target")

    with subtest("control: unprivileged, the hostile ld.so runs"):
        status, out = machine.execute("su alice -c 'env ${hostileEnv} ${whoami}/bin/rld-whoami'")
        assert status == 66, f"exit {status}: {out!r}"
        assert out == "${marker}\n", repr(out)

    with subtest("unprivileged, with the system's variables, it runs as alice"):
        out = machine.succeed("su alice -c '${whoami}/bin/rld-whoami'")
        uid = machine.succeed("id -u alice").strip()
        assert out == f"euid {uid}\n", repr(out)

    with subtest("setuid wrapper: the hostile ld.so is ignored"):
        status, out = machine.execute("su alice -c 'env ${hostileEnv} /run/wrappers/bin/rld-whoami'")
        assert status == 0, f"exit {status}: {out!r}"
        assert out == "euid 0\n", repr(out)
  '';
}

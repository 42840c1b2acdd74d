# A library added through programs.rld.libraries (extending the default list)
# is found by an unpatched program that needs it; with the library directory
# taken out of the search path, the same program fails to find it.
{ pkgs, self }:
let
  common = import ./common.nix { inherit pkgs; };

  # A library no default entry provides.
  greeting = pkgs.runCommandCC "libgreeting" { } ''
    mkdir -p $out/lib $out/include
    cat > greeting.c <<'C'
    const char *greeting(void) { return "hello from libgreeting"; }
    C
    echo 'const char *greeting(void);' > $out/include/greeting.h
    $CC -shared -fPIC -Wl,-soname,libgreeting.so.1 -o $out/lib/libgreeting.so.1 greeting.c
    ln -s libgreeting.so.1 $out/lib/libgreeting.so
  '';

  greet = common.unpatched {
    name = "greet";
    libraries = [ greeting ];
    linkFlags = [ "-lgreeting" ];
    source = ''
      #include <stdio.h>
      #include <greeting.h>
      int main(void) {
        puts(greeting());
        return 0;
      }
    '';
  };
in
pkgs.testers.runNixOSTest {
  name = "rld-library-option";

  nodes.machine =
    { options, ... }:
    {
      imports = [ self.nixosModules.default ];
      programs.rld = {
        enable = true;
        libraries = options.programs.rld.libraries.default ++ [ greeting ];
      };
    };

  testScript = ''
    machine.wait_for_unit("multi-user.target")

    with subtest("the library is in the default directory, next to the defaults"):
        machine.succeed("test -e /run/current-system/sw/share/rld/lib/libgreeting.so.1")
        machine.succeed("test -e /run/current-system/sw/share/rld/lib/libz.so.1")

    with subtest("an unpatched program finds it"):
        out = machine.succeed("${greet}/bin/greet")
        assert out == "hello from libgreeting\n", repr(out)
        out = machine.succeed("env -i ${greet}/bin/greet")
        assert out == "hello from libgreeting\n", repr(out)

    with subtest("control: without the library directory it is not found"):
        status, out = machine.execute("NIX_LD_LIBRARY_PATH=/var/empty ${greet}/bin/greet 2>&1")
        assert status == 127, f"exit {status}: {out!r}"
        assert "libgreeting.so.1: cannot open shared object file" in out, repr(out)
  '';
}

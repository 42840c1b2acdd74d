# programs.rld.ldconfig.enable: /sbin/ldconfig is `rld ldconfig`. What
# upstream CPython's ctypes.util.find_library does on Linux (run
# `/sbin/ldconfig -p` with LC_ALL=C and match its regex) finds zlib in rld's
# default library directory; without /sbin/ldconfig it finds nothing.
# `ldconfig` without -p exits 0 with one note.
#
# nixpkgs' python3 patches ctypes not to run ldconfig at all, so the script
# below is CPython 3.11's _findSoname_ldconfig (Lib/ctypes/util.py), as a
# downloaded, unpatched Python runs it.
{ pkgs, self }:
let
  findZ = pkgs.writeText "find-z.py" ''
    import os, re, struct, subprocess
    machine = os.uname().machine + ("-32" if struct.calcsize("l") == 4 else "-64")
    abi_type = {"x86_64-64": "libc6,x86-64"}.get(machine, "libc6")
    regex = os.fsencode(r"\s+(lib%s\.[^\s]+)\s+\(%s" % (re.escape("z"), abi_type))
    found = None
    try:
        with subprocess.Popen(["/sbin/ldconfig", "-p"], stdin=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              env={"LC_ALL": "C", "LANG": "C"}) as p:
            res = re.search(regex, p.stdout.read())
            if res:
                found = os.fsdecode(res.group(1))
    except OSError:
        pass
    print(found)
  '';
  python = "${pkgs.python3}/bin/python3";
in
pkgs.testers.runNixOSTest {
  name = "rld-ldconfig";

  nodes.machine = {
    imports = [ self.nixosModules.default ];
    programs.rld = {
      enable = true;
      ldconfig.enable = true;
    };
  };

  testScript = ''
    machine.wait_for_unit("multi-user.target")

    with subtest("/sbin/ldconfig -p lists the default directory in glibc's format"):
        out = machine.succeed("env -i LC_ALL=C /sbin/ldconfig -p")
        lines = out.splitlines()
        assert lines[0] == f"{len(lines) - 1} libs found in cache `/etc/ld.so.cache'", lines[0]
        assert "\tlibz.so.1 (libc6,x86-64) => /run/current-system/sw/share/rld/lib/libz.so.1" in lines or "\tlibz.so.1 (libc6,AArch64) => /run/current-system/sw/share/rld/lib/libz.so.1" in lines, out

    with subtest("ctypes' lookup finds zlib"):
        out = machine.succeed("${python} ${findZ}")
        assert out == "libz.so.1\n", repr(out)

    with subtest("ldconfig without -p: one note, exit 0"):
        out = machine.succeed("/sbin/ldconfig 2>&1 && echo went on")
        assert out.startswith("rld: ldconfig: NixOS has no library cache to rebuild"), out
        assert out.endswith("went on\n"), out
        machine.fail("/sbin/ldconfig --bogus")

    with subtest("control: without /sbin/ldconfig (NixOS without the option) it finds nothing"):
        machine.succeed("rm /sbin/ldconfig")
        out = machine.succeed("${python} ${findZ}")
        assert out == "None\n", repr(out)
        machine.succeed("systemd-tmpfiles --create --prefix=/sbin")
        machine.succeed("test -x /sbin/ldconfig")
  '';
}

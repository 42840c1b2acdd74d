# Placeholder package sets for the evaluation test (nixpkgs is not
# available): just enough of a derivation for the module and for
# lib.types.package. `forSystem "aarch64-linux"` is that system's set; its
# `path` imports ./fake-nixpkgs.nix, so that `import pkgs.path { localSystem
# = ...; }` in the module gives another system's placeholders.
let
  fake =
    name: extra:
    {
      type = "derivation";
      inherit name;
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
    }
    // extra;

  withLib = name: fake name { lib = fake "${name}-lib" { }; };

  systems = {
    x86_64-linux = {
      name = "x86_64";
      isx86_64 = true;
      interpreter = "/lib64/ld-linux-x86-64.so.2";
    };
    i686-linux = {
      name = "i686";
      isx86_64 = false;
      interpreter = "/lib/ld-linux.so.2";
    };
    aarch64-linux = {
      name = "aarch64";
      isx86_64 = false;
      interpreter = "/lib/ld-linux-aarch64.so.1";
    };
    riscv64-linux = {
      name = "riscv64";
      isx86_64 = false;
      interpreter = "/lib/ld-linux-riscv64-lp64d.so.1";
    };
  };

  fakeRld =
    system: defaultPrefix:
    fakeRldWith system defaultPrefix false;
  # `fused` (nix/package.nix's argument) shows in the name.
  fakeRldWith =
    system: defaultPrefix: fused:
    fake "rld-${system}-${baseNameOf defaultPrefix}${if fused then "-fused" else ""}" {
      inherit defaultPrefix fused;
      interpreterPath = systems.${system}.interpreter;
      override = args: fakeRldWith system (args.defaultPrefix or defaultPrefix) (args.fused or fused);
    };

  forSystem =
    system:
    let
      inherit (systems.${system}) name isx86_64 interpreter;
    in
    {
      path = ./fake-nixpkgs.nix;
      stdenv = {
        hostPlatform = { inherit system isx86_64; };
        cc = {
          cc = withLib "gcc-${name}";
          bintools.dynamicLinker = "/nix/store/11111111111111111111111111111111-glibc-${name}/lib/${baseNameOf interpreter}";
        };
      };
      rld = fakeRld system "/run/current-system/sw/share/rld";
      # A buildEnv that keeps its arguments so the test can look at them.
      buildEnv = args: fake args.name { buildEnvArgs = args; };
      util-linux = withLib "util-linux-${name}";
      # The script's text is in its store path's name, so a check can see
      # what it runs.
      writeShellScript = name: text: fake "${name}-${builtins.hashString "sha1" text}" { };
      runCommand = name: _: script: fake "${name}-${builtins.hashString "sha1" script}" { };
    }
    // builtins.listToAttrs (
      map
        (n: {
          name = n;
          value = fake "${n}-${name}" { };
        })
        [
          "zlib"
          "zstd"
          "curl"
          "openssl"
          "attr"
          "libssh"
          "bzip2"
          "libxml2"
          "libxml2_13"
          "acl"
          "libsodium"
          "xz"
          "systemd"
          "libGL"
        ]
    );
in
{
  inherit fake forSystem;
}

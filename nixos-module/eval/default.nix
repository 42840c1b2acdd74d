# Evaluation test of nixos-module/rld.nix: evaluates the real module with
# nixpkgs' lib.evalModules for a series of configurations, against
# placeholder packages and declarations of the NixOS options it uses
# (nixos-options.nix), and checks what it defines (environment.ldso and
# ldso32, session variables, the library directories, assertions and
# warnings).
#
#   nix-instantiate --eval --strict nixos-module/eval --arg module ./nixos-module/rld.nix
#
# (Nix calls the function only when given an argument; `--arg module PATH`
# also evaluates another copy of the module, which scripts/check-nix.sh does
# with deliberately broken ones.) lib comes from nixpkgs-lib.nix: the lib/
# directory named by NIXPKGS_LIB, or ../shared/nixpkgs-lib/lib beside the
# project. The flake's `module-eval` check passes its nixpkgs' lib instead
# (`import ./nixos-module/eval { inherit lib; }`).
#
# Prints the names of the checks that passed; any failure aborts the
# evaluation with the expected and the actual value.
{ module ? ../rld.nix
, lib ? import ./nixpkgs-lib.nix
}:

assert lib ? evalModules
  || throw "nixos-module/eval: the lib given is not nixpkgs' lib (it has no evalModules)";
let
  # Placeholder packages (nixpkgs is not available): just enough of a
  # derivation for the module and for lib.types.package.
  fake =
    name: extra:
    {
      type = "derivation";
      inherit name;
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
    }
    // extra;

  withLib =
    name:
    let
      out = fake name { lib = fake "${name}-lib" { }; };
    in
    out;

  fakeRld =
    system: defaultPrefix:
    fake "rld-${system}-${baseNameOf defaultPrefix}" {
      inherit defaultPrefix;
      interpreterPath = if system == "x86_64-linux" then "/lib64/ld-linux-x86-64.so.2" else "/lib/ld-linux.so.2";
      override = args: fakeRld system args.defaultPrefix;
    };

  fakePkgs =
    { system
    , isx86_64
    , ldso
    , name
    }:
    let
      self = {
        stdenv = {
          hostPlatform = { inherit system isx86_64; };
          cc = {
            cc = withLib "gcc-${name}";
            bintools.dynamicLinker = "/nix/store/11111111111111111111111111111111-glibc-${name}/lib/${ldso}";
          };
        };
        rld = fakeRld system "/run/current-system/sw/share/rld";
        # A buildEnv that keeps its arguments so the test can look at them.
        buildEnv = args: fake args.name { buildEnvArgs = args; };
        util-linux = withLib "util-linux-${name}";
        # The script's text is in its store path's name, so a check can see
        # what it runs.
        writeShellScript = name: text: fake "${name}-${builtins.hashString "sha1" text}" { };
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
            "acl"
            "libsodium"
            "xz"
            "systemd"
            "libGL"
          ]
      );
    in
    self;

  pkgs32 = fakePkgs {
    system = "i686-linux";
    isx86_64 = false;
    ldso = "ld-linux.so.2";
    name = "i686";
  };
  pkgsX86 =
    fakePkgs
      {
        system = "x86_64-linux";
        isx86_64 = true;
        ldso = "ld-linux-x86-64.so.2";
        name = "x86_64";
      }
    // {
      pkgsi686Linux = pkgs32;
    };
  pkgsArm =
    fakePkgs
      {
        system = "aarch64-linux";
        isx86_64 = false;
        ldso = "ld-linux-aarch64.so.1";
        name = "aarch64";
      }
    // {
      pkgsi686Linux = throw "pkgsi686Linux is not available on aarch64-linux";
    };

  eval =
    { pkgs ? pkgsX86
    , rld ? { }
    , nixLd ? false
    }:
    let
      result = lib.evalModules {
        modules = [
          module
          ./nixos-options.nix
          {
            _module.args.pkgs = pkgs;
            programs.rld = rld;
            programs.nix-ld.enable = nixLd;
          }
        ];
      };
      inherit (result.config) environment;
      buildEnvs = builtins.filter (p: p ? buildEnvArgs) environment.systemPackages;
    in
    {
      inherit (result) options;
      inherit (environment) ldso ldso32 sessionVariables pathsToLink;
      systemPackageNames = map (p: p.name) environment.systemPackages;
      # name -> { prefix; paths (names); postBuild }
      directories = builtins.listToAttrs (
        map
          (p: {
            inherit (p) name;
            value = {
              prefix = p.buildEnvArgs.extraPrefix;
              paths = map (q: q.name) p.buildEnvArgs.paths;
              inherit (p.buildEnvArgs) postBuild pathsToLink;
            };
          })
          buildEnvs
      );
      tmpfilesRules = result.config.systemd.tmpfiles.rules;
      failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) result.config.assertions);
      inherit (result.config) warnings;
    };

  # Messages are wrapped at any space.
  hasInfix = infix: s: lib.hasInfix infix (builtins.replaceStrings [ "\n" ] [ " " ] s);
  anyMessage = infix: messages: builtins.any (hasInfix infix) messages;

  rld64 = "/nix/store/00000000000000000000000000000000-rld-x86_64-linux-rld";
  rld32 = "/nix/store/00000000000000000000000000000000-rld-i686-linux-rld32";
  sw = "/run/current-system/sw";

  defaultLibraryNames = [
    "zlib-x86_64"
    "zstd-x86_64"
    "gcc-x86_64-lib"
    "curl-x86_64"
    "openssl-x86_64"
    "attr-x86_64"
    "libssh-x86_64"
    "bzip2-x86_64"
    "libxml2-x86_64"
    "acl-x86_64"
    "libsodium-x86_64"
    "util-linux-x86_64-lib"
    "xz-x86_64"
    "systemd-x86_64"
  ];

  enabled = eval { rld.enable = true; };
  disabled = eval { };
  replaced = eval {
    rld = {
      enable = true;
      libraries = [ pkgsX86.libGL ];
    };
  };
  extended = eval {
    rld = {
      enable = true;
      libraries = enabled.options.programs.rld.libraries.default ++ [ pkgsX86.libGL ];
    };
  };
  extraPaths = eval {
    rld = {
      enable = true;
      extraLibraryPaths = [
        "/run/opengl-driver/lib"
        "/opt/vendor/lib"
      ];
    };
  };
  noSession = eval {
    rld = {
      enable = true;
      setSessionVariables = false;
      extraLibraryPaths = [ "/run/opengl-driver/lib" ];
    };
  };
  withNixLd = eval {
    rld.enable = true;
    nixLd = true;
  };
  bits32 = eval {
    rld = {
      enable = true;
      enable32Bit = true;
    };
  };
  bits32NoSession = eval {
    rld = {
      enable = true;
      enable32Bit = true;
      setSessionVariables = false;
    };
  };
  bits32OnArm = eval {
    pkgs = pkgsArm;
    rld = {
      enable = true;
      enable32Bit = true;
    };
  };
  onArm = eval {
    pkgs = pkgsArm;
    rld.enable = true;
  };
  wrongPrefix = eval {
    rld = {
      enable = true;
      package = pkgsX86.rld.override { defaultPrefix = "/opt/rld"; };
    };
  };
  wrongPrefix32 = eval {
    rld = {
      enable = true;
      enable32Bit = true;
      package32 = pkgs32.rld;
    };
  };
  withLdconfig = eval {
    rld = {
      enable = true;
      ldconfig.enable = true;
    };
  };
  colonInPath = eval {
    rld = {
      enable = true;
      extraLibraryPaths = [ "/a:/b" ];
    };
  };

  checks = {
    # Enabled with defaults, x86_64.
    enabled-ldso = {
      expr = enabled.ldso;
      expected = "${rld64}/libexec/rld-loader";
    };
    enabled-no-ldso32 = {
      expr = enabled.ldso32;
      expected = null;
    };
    enabled-session-variables = {
      expr = enabled.sessionVariables;
      expected = {
        NIX_LD = "${sw}/share/rld/lib/ld.so";
        NIX_LD_LIBRARY_PATH = "${sw}/share/rld/lib";
      };
    };
    enabled-paths-to-link = {
      expr = enabled.pathsToLink;
      expected = [ "/share/rld" ];
    };
    enabled-system-packages = {
      expr = enabled.systemPackageNames;
      expected = [
        "rld-x86_64-linux-rld"
        "rld-libraries"
      ];
    };
    enabled-directory = {
      expr = enabled.directories.rld-libraries;
      expected = {
        prefix = "/share/rld";
        paths = defaultLibraryNames;
        pathsToLink = [ "/lib" ];
        postBuild = ''
          mkdir -p "$out/share/rld/lib"
          ln -sf /nix/store/11111111111111111111111111111111-glibc-x86_64/lib/ld-linux-x86-64.so.2 "$out/share/rld/lib/ld.so"
        '';
      };
    };
    enabled-no-assertion-fails = {
      expr = enabled.failedAssertions;
      expected = [ ];
    };
    enabled-no-warnings = {
      expr = enabled.warnings;
      expected = [ ];
    };

    # Not enabled: the module defines nothing the system would see.
    disabled-nothing = {
      expr = {
        inherit (disabled)
          ldso
          ldso32
          sessionVariables
          pathsToLink
          systemPackageNames
          failedAssertions
          ;
      };
      expected = {
        ldso = null;
        ldso32 = null;
        sessionVariables = { };
        pathsToLink = [ ];
        systemPackageNames = [ ];
        failedAssertions = [ ];
      };
    };

    # `libraries = [ ... ]` replaces the default; `default ++ [ ... ]` extends it.
    libraries-replaced = {
      expr = replaced.directories.rld-libraries.paths;
      expected = [ "libGL-x86_64" ];
    };
    libraries-extended = {
      expr = extended.directories.rld-libraries.paths;
      expected = defaultLibraryNames ++ [ "libGL-x86_64" ];
    };

    # extraLibraryPaths follow the library directory, in order.
    extra-library-paths = {
      expr = extraPaths.sessionVariables.NIX_LD_LIBRARY_PATH;
      expected = "${sw}/share/rld/lib:/run/opengl-driver/lib:/opt/vendor/lib";
    };
    extra-library-paths-colon-rejected = {
      expr = (builtins.tryEval (builtins.deepSeq colonInPath.sessionVariables true)).success;
      expected = false;
    };

    # setSessionVariables = false: the loader is still installed, no
    # variables, and a warning about the extraLibraryPaths that go unused.
    no-session-variables = {
      expr = {
        inherit (noSession) ldso sessionVariables;
        warned = anyMessage "setSessionVariables = false" noSession.warnings;
      };
      expected = {
        ldso = "${rld64}/libexec/rld-loader";
        sessionVariables = { };
        warned = true;
      };
    };

    # With nix-ld also enabled, an assertion says what to change.
    nix-ld-conflict = {
      expr = map (hasInfix "Set programs.nix-ld.enable = false") withNixLd.failedAssertions;
      expected = [ true ];
    };

    # enable32Bit on x86_64: the i686 loader at ldso32, its own directory
    # with the i686 ld.so, and the i686 variables.
    bits32-ldso = {
      expr = {
        inherit (bits32) ldso ldso32 pathsToLink;
      };
      expected = {
        ldso = "${rld64}/libexec/rld-loader";
        ldso32 = "${rld32}/libexec/rld-loader";
        pathsToLink = [
          "/share/rld"
          "/share/rld32"
        ];
      };
    };
    bits32-session-variables = {
      expr = bits32.sessionVariables;
      expected = {
        NIX_LD = "${sw}/share/rld/lib/ld.so";
        NIX_LD_LIBRARY_PATH = "${sw}/share/rld/lib";
        NIX_LD_i686_linux = "${sw}/share/rld32/lib/ld.so";
        NIX_LD_LIBRARY_PATH_i686_linux = "${sw}/share/rld32/lib";
      };
    };
    bits32-directory = {
      expr = bits32.directories.rld-libraries-i686;
      expected = {
        prefix = "/share/rld32";
        paths = [
          "zlib-i686"
          "zstd-i686"
          "gcc-i686-lib"
          "openssl-i686"
          "bzip2-i686"
          "xz-i686"
        ];
        pathsToLink = [ "/lib" ];
        postBuild = ''
          mkdir -p "$out/share/rld32/lib"
          ln -sf /nix/store/11111111111111111111111111111111-glibc-i686/lib/ld-linux.so.2 "$out/share/rld32/lib/ld.so"
        '';
      };
    };
    bits32-no-assertion-fails = {
      expr = bits32.failedAssertions;
      expected = [ ];
    };
    bits32-no-session-variables = {
      expr = {
        inherit (bits32NoSession) ldso32 sessionVariables;
      };
      expected = {
        ldso32 = "${rld32}/libexec/rld-loader";
        sessionVariables = { };
      };
    };
    # Not on aarch64: a readable assertion instead.
    bits32-on-aarch64 = {
      expr = map (hasInfix "Set programs.rld.enable32Bit = false") bits32OnArm.failedAssertions;
      expected = [ true ];
    };
    # aarch64 without enable32Bit: its own ld.so, no i686 package forced.
    aarch64-directory = {
      expr = {
        inherit (onArm) ldso32 failedAssertions;
        postBuild = onArm.directories.rld-libraries.postBuild;
      };
      expected = {
        ldso32 = null;
        failedAssertions = [ ];
        postBuild = ''
          mkdir -p "$out/share/rld/lib"
          ln -sf /nix/store/11111111111111111111111111111111-glibc-aarch64/lib/ld-linux-aarch64.so.1 "$out/share/rld/lib/ld.so"
        '';
      };
    };

    # Packages whose compiled-in prefix is not where the module links ld.so.
    wrong-prefix = {
      expr = map (hasInfix ''defaultPrefix = "/opt/rld"'') wrongPrefix.failedAssertions;
      expected = [ true ];
    };
    wrong-prefix-32 = {
      expr = map (hasInfix "programs.rld.package32 was built with") wrongPrefix32.failedAssertions;
      expected = [ true ];
    };

    # The documentation shows the default lists the options have.
    libraries-default-text = {
      expr = enabled.options.programs.rld.libraries.defaultText.text;
      expected = ''
        [
          pkgs.zlib
          pkgs.zstd
          pkgs.stdenv.cc.cc
          pkgs.curl
          pkgs.openssl
          pkgs.attr
          pkgs.libssh
          pkgs.bzip2
          pkgs.libxml2
          pkgs.acl
          pkgs.libsodium
          pkgs.util-linux
          pkgs.xz
          pkgs.systemd
        ]'';
    };
    libraries32-default-text = {
      expr = enabled.options.programs.rld.libraries32.defaultText.text;
      expected = ''
        [
          pkgs.pkgsi686Linux.zlib
          pkgs.pkgsi686Linux.zstd
          pkgs.pkgsi686Linux.stdenv.cc.cc
          pkgs.pkgsi686Linux.openssl
          pkgs.pkgsi686Linux.bzip2
          pkgs.pkgsi686Linux.xz
        ]'';
    };

    # programs.rld.ldconfig.enable: off by default; on, /sbin/ldconfig is a
    # link to a script that passes every argument to `rld ldconfig`.
    ldconfig-off-by-default = {
      expr = enabled.tmpfilesRules;
      expected = [ ];
    };
    ldconfig-link = {
      expr = withLdconfig.tmpfilesRules;
      expected = [
        "L+ /sbin/ldconfig - - - - /nix/store/00000000000000000000000000000000-ldconfig-${builtins.hashString "sha1" ''exec ${rld64}/bin/rld ldconfig "$@"''}"
      ];
    };
    ldconfig-changes-nothing-else = {
      expr = builtins.removeAttrs withLdconfig [ "tmpfilesRules" "options" ];
      expected = builtins.removeAttrs enabled [ "tmpfilesRules" "options" ];
    };

    # Every option is documented, typed, with a default and an example.
    options-documented = {
      expr = map (o: lib.showOption o.loc) (
        builtins.filter (o: !(o ? description && o ? type && o ? default && o ? example)) (
          lib.collect lib.isOption enabled.options.programs.rld
        )
      );
      expected = [ ];
    };
  };

  failures = builtins.filter (name: checks.${name}.expr != checks.${name}.expected) (builtins.attrNames checks);
  report = map
    (name: {
      check = name;
      inherit (checks.${name}) expected;
      actual = checks.${name}.expr;
    })
    failures;
in
if failures == [ ] then
  "ok: ${toString (builtins.length (builtins.attrNames checks))} checks passed (lib.evalModules of nixpkgs lib ${lib.version}): ${builtins.concatStringsSep ", " (builtins.attrNames checks)}"
else
  throw "module evaluation test failed:\n${builtins.toJSON report}"

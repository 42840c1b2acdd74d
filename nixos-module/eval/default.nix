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
  inherit (import ./fake-pkgs.nix) forSystem;

  pkgs32 = forSystem "i686-linux";
  pkgsX86 = forSystem "x86_64-linux" // {
    pkgsi686Linux = pkgs32;
  };
  pkgsArm = forSystem "aarch64-linux" // {
    pkgsi686Linux = throw "pkgsi686Linux is not available on aarch64-linux";
  };

  eval =
    { pkgs ? pkgsX86
    , rld ? { }
    , nixLd ? false
    , binfmt ? [ ]
    , hardware ? { }
    , extraModules ? [ ]
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
            boot.binfmt.emulatedSystems = binfmt;
            hardware.graphics = hardware;
          }
        ]
        ++ extraModules;
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
      serviceEnvironment = result.config.systemd.globalEnvironment;
      failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) result.config.assertions);
      inherit (result.config) warnings;
      tmpfiles = result.config.systemd.tmpfiles.rules;
      inherit (result.config.programs.rld) emulatedSystems;
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
    "libxml2_13-x86_64"
    "acl-x86_64"
    "libsodium-x86_64"
    "util-linux-x86_64-lib"
    "xz-x86_64"
    "systemd-x86_64"
  ];

  enabled = eval { rld.enable = true; };
  # libxml2_13 in nixpkgs as it may be: absent (an older nixpkgs, or a newer
  # one with allowAliases = false after removing it), a throwing alias (a
  # newer one), or marked insecure and not permitted (meta.available false).
  libxml2_13As = value: eval {
    pkgs = removeAttrs pkgsX86 [ "libxml2_13" ] // value;
    rld.enable = true;
  };
  withoutLibxml2_13 = libxml2_13As { };
  libxml2_13Alias = libxml2_13As { libxml2_13 = throw "libxml2_13 has been removed"; };
  libxml2_13Insecure = libxml2_13As {
    libxml2_13 = pkgsX86.libxml2_13 // { meta.available = false; };
  };
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
      setSessionVariables = true;
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
  # The nix-ld flake's older module declares programs.nix-ld.dev.
  nixLdDev = enable: eval {
    rld.enable = true;
    extraModules = [
      {
        options.programs.nix-ld.dev.enable = lib.mkEnableOption "nix-ld (the nix-ld flake's module)";
        config.programs.nix-ld.dev = { inherit enable; };
      }
    ];
  };
  bits32 = eval {
    rld = {
      enable = true;
      enable32Bit = true;
      setSessionVariables = true;
    };
  };
  withVariables = eval {
    rld = {
      enable = true;
      setSessionVariables = true;
    };
  };
  graphics = eval {
    rld = {
      enable = true;
      enable32Bit = true;
    };
    hardware = {
      enable = true;
      enable32Bit = true;
    };
  };
  graphicsOff = eval {
    rld = {
      enable = true;
      graphicsDrivers = false;
    };
    hardware.enable = true;
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

  # Foreign architectures: the default follows boot.binfmt.emulatedSystems.
  binfmt = [
    "armv7l-linux"
    "aarch64-linux"
    "i686-linux"
    "riscv64-linux"
  ];
  emulatedX86 = eval {
    rld = {
      enable = true;
      setSessionVariables = true;
    };
    inherit binfmt;
  };
  emulatedNoSession = eval {
    rld = {
      enable = true;
      setSessionVariables = false;
    };
    inherit binfmt;
  };
  emulatedOnArm = eval {
    pkgs = pkgsArm;
    rld.enable = true;
    binfmt = [
      "x86_64-linux"
      "i686-linux"
    ];
  };
  emulatedChosen = eval {
    rld = {
      enable = true;
      emulatedSystems = [ "riscv64-linux" ];
      emulated.riscv64-linux.libraries = [ (forSystem "riscv64-linux").libGL ];
    };
    inherit binfmt;
  };
  emulatedNative = eval {
    rld = {
      enable = true;
      emulatedSystems = [
        "x86_64-linux"
        "i686-linux"
      ];
    };
  };
  emulatedWrongPrefix = eval {
    rld = {
      enable = true;
      emulated.aarch64-linux.package = (forSystem "aarch64-linux").rld;
    };
    inherit binfmt;
  };
  emulatedNotEnabled = eval { inherit binfmt; };
  emulatedLibraryNames = arch: [
    "zlib-${arch}"
    "zstd-${arch}"
    "gcc-${arch}-lib"
    "curl-${arch}"
    "openssl-${arch}"
    "attr-${arch}"
    "libssh-${arch}"
    "bzip2-${arch}"
    "libxml2-${arch}"
    "libxml2_13-${arch}"
    "acl-${arch}"
    "libsodium-${arch}"
    "util-linux-${arch}-lib"
    "xz-${arch}"
    "systemd-${arch}"
  ];
  emulatedDirectory = system: arch: ldso: paths: {
    prefix = "/share/rld-${system}";
    inherit paths;
    pathsToLink = [ "/lib" ];
    postBuild = ''
      mkdir -p "$out/share/rld-${system}/lib"
      ln -sf /nix/store/11111111111111111111111111111111-glibc-${arch}/lib/${ldso} "$out/share/rld-${system}/lib/ld.so"
    '';
  };
  rldFor = system: "/nix/store/00000000000000000000000000000000-rld-${system}-rld-${system}";

  # The configured copy of a loader the module installs: the store path the
  # placeholder runCommand gives exactly this `rld configure-loader` call,
  # by the `rld` tool of the system's own package (`tool`).
  configured =
    { name
    , tool ? rld64
    , package
    , directory
    , prefix
    , extra ? [ ]
    }:
    let
      script = ''
        ${tool}/bin/rld configure-loader ${package}/libexec/rld-loader --ld-so ${directory}${prefix}/lib/ld.so --library-path ${lib.escapeShellArg (lib.concatStringsSep ":" ([ "${directory}${prefix}/lib" ] ++ extra))} --output $out
      '';
    in
    "/nix/store/00000000000000000000000000000000-${name}-${builtins.hashString "sha1" script}";
  store = name: "/nix/store/00000000000000000000000000000000-${name}";
  loader64 = extra: configured {
    name = "rld-loader-configured";
    package = rld64;
    directory = store "rld-libraries";
    prefix = "/share/rld";
    inherit extra;
  };
  loader32 = extra: configured {
    name = "rld-loader-i686-configured";
    package = rld32;
    directory = store "rld-libraries-i686";
    prefix = "/share/rld32";
    inherit extra;
  };
  emulatedLoader = tool: system: configured {
    name = "rld-loader-${system}-configured";
    inherit tool;
    package = rldFor system;
    directory = store "rld-libraries-${system}";
    prefix = "/share/rld-${system}";
  };

  checks = {
    # emulatedSystems defaults to the systems of boot.binfmt.emulatedSystems
    # that rld serves and that do not run natively (i686 on x86_64 is
    # enable32Bit's).
    emulated-default = {
      expr = emulatedX86.emulatedSystems;
      expected = [
        "aarch64-linux"
        "riscv64-linux"
      ];
    };
    emulated-not-enabled = {
      expr = { inherit (emulatedNotEnabled) tmpfiles systemPackageNames; };
      expected = {
        tmpfiles = [ ];
        systemPackageNames = [ ];
      };
    };
    # Each loader at its interpreter path, as tmpfiles rules.
    emulated-tmpfiles = {
      expr = emulatedX86.tmpfiles;
      expected = [
        "d /lib 0755 root root - -"
        "L+ /lib/ld-linux-aarch64.so.1 - - - - ${emulatedLoader rld64 "aarch64-linux"}"
        "L+ /lib/ld-linux-riscv64-lp64d.so.1 - - - - ${emulatedLoader rld64 "riscv64-linux"}"
      ];
    };
    # Each system's own directory: its glibc's ld.so and its libraries.
    emulated-directories = {
      expr = {
        aarch64 = emulatedX86.directories.rld-libraries-aarch64-linux;
        riscv64 = emulatedX86.directories.rld-libraries-riscv64-linux;
        inherit (emulatedX86) pathsToLink failedAssertions ldso;
      };
      expected = {
        aarch64 = emulatedDirectory "aarch64-linux" "aarch64" "ld-linux-aarch64.so.1" (emulatedLibraryNames "aarch64");
        riscv64 = emulatedDirectory "riscv64-linux" "riscv64" "ld-linux-riscv64-lp64d.so.1" (emulatedLibraryNames "riscv64");
        pathsToLink = [
          "/share/rld"
          "/share/rld-aarch64-linux"
          "/share/rld-riscv64-linux"
        ];
        failedAssertions = [ ];
        ldso = loader64 [ ];
      };
    };
    emulated-session-variables = {
      expr = {
        withVariables = emulatedX86.sessionVariables;
        withoutVariables = emulatedNoSession.sessionVariables;
      };
      expected = {
        withVariables = {
          NIX_LD = "${sw}/share/rld/lib/ld.so";
          NIX_LD_LIBRARY_PATH = "${sw}/share/rld/lib";
          NIX_LD_aarch64_linux = "${sw}/share/rld-aarch64-linux/lib/ld.so";
          NIX_LD_LIBRARY_PATH_aarch64_linux = "${sw}/share/rld-aarch64-linux/lib";
          NIX_LD_riscv64_linux = "${sw}/share/rld-riscv64-linux/lib/ld.so";
          NIX_LD_LIBRARY_PATH_riscv64_linux = "${sw}/share/rld-riscv64-linux/lib";
        };
        withoutVariables = { };
      };
    };
    # On aarch64, x86_64 and i686 are foreign; i686 gets the 32-bit list.
    emulated-on-aarch64 = {
      expr = {
        inherit (emulatedOnArm) emulatedSystems tmpfiles failedAssertions;
        i686 = emulatedOnArm.directories.rld-libraries-i686-linux;
      };
      expected = {
        emulatedSystems = [
          "x86_64-linux"
          "i686-linux"
        ];
        tmpfiles = [
          "d /lib64 0755 root root - -"
          "L+ /lib64/ld-linux-x86-64.so.2 - - - - ${emulatedLoader (store "rld-aarch64-linux-rld") "x86_64-linux"}"
          "d /lib 0755 root root - -"
          "L+ /lib/ld-linux.so.2 - - - - ${emulatedLoader (store "rld-aarch64-linux-rld") "i686-linux"}"
        ];
        failedAssertions = [ ];
        i686 = emulatedDirectory "i686-linux" "i686" "ld-linux.so.2" [
          "zlib-i686"
          "zstd-i686"
          "gcc-i686-lib"
          "openssl-i686"
          "bzip2-i686"
          "xz-i686"
        ];
      };
    };
    # Set by hand, it replaces the binfmt list; libraries per system.
    emulated-chosen = {
      expr = {
        inherit (emulatedChosen) emulatedSystems;
        paths = emulatedChosen.directories.rld-libraries-riscv64-linux.paths;
      };
      expected = {
        emulatedSystems = [ "riscv64-linux" ];
        paths = [ "libGL-riscv64" ];
      };
    };
    # The host itself, or i686 on x86_64: an assertion says what to change.
    emulated-native-refused = {
      expr = map (hasInfix "Remove it from programs.rld.emulatedSystems") emulatedNative.failedAssertions;
      expected = [
        true
        true
      ];
    };
    emulated-i686-on-x86_64 = {
      expr = anyMessage "set programs.rld.enable32Bit = true" emulatedNative.failedAssertions;
      expected = true;
    };
    emulated-wrong-prefix = {
      expr = map (hasInfix ''programs.rld.emulated.aarch64-linux.package was built with defaultPrefix = "/run/current-system/sw/share/rld"'') emulatedWrongPrefix.failedAssertions;
      expected = [ true ];
    };


    # Enabled with defaults, x86_64.
    # The loader installed is a configured copy: this generation's ld.so
    # and library directory, for every process.
    enabled-ldso = {
      expr = enabled.ldso;
      expected = loader64 [ ];
    };
    # programs.rld.fused: `rld fuse` with the loader built with the
    # feature, glibc's own ld.so embedded (by its store path); off by
    # default (enabled-ldso above).
    fused-ldso = {
      expr = (eval { rld = { enable = true; fused = true; }; }).ldso;
      expected =
        let
          script = ''
            ${rld64}/bin/rld fuse ${rld64}-fused/libexec/rld-loader --ld-so /nix/store/11111111111111111111111111111111-glibc-x86_64/lib/ld-linux-x86-64.so.2 --library-path ${store "rld-libraries"}/share/rld/lib --output $out
          '';
        in
        "/nix/store/00000000000000000000000000000000-rld-loader-fused-${builtins.hashString "sha1" script}";
    };
    # Only the native loader is fused.
    fused-leaves-ldso32 = {
      expr = (eval { rld = { enable = true; fused = true; enable32Bit = true; }; }).ldso32;
      expected = loader32 [ ];
    };
    enabled-no-ldso32 = {
      expr = enabled.ldso32;
      expected = null;
    };
    # No session variables unless asked for: the loader carries it all.
    enabled-session-variables = {
      expr = enabled.sessionVariables;
      expected = { };
    };
    session-variables-when-asked = {
      expr = withVariables.sessionVariables;
      expected = {
        NIX_LD = "${sw}/share/rld/lib/ld.so";
        NIX_LD_LIBRARY_PATH = "${sw}/share/rld/lib";
      };
    };
    # The graphics driver's directories follow hardware.graphics.
    graphics-drivers = {
      expr = { inherit (graphics) ldso ldso32; };
      expected = {
        ldso = loader64 [ "/run/opengl-driver/lib" ];
        ldso32 = loader32 [ "/run/opengl-driver-32/lib" ];
      };
    };
    graphics-drivers-off = {
      expr = graphicsOff.ldso;
      expected = loader64 [ ];
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

    # libxml2_13 (libxml2.so.2) is in the default list where nixpkgs has a
    # usable one (enabled-directory), and left out, with no evaluation
    # error, where it has none.
    libxml2_13-optional = {
      expr = map (e: e.directories.rld-libraries.paths) [ withoutLibxml2_13 libxml2_13Alias libxml2_13Insecure ];
      expected = builtins.genList (_: lib.remove "libxml2_13-x86_64" defaultLibraryNames) 3;
    };

    # Not enabled, the module reads no package at all, even with foreign
    # systems in boot.binfmt.emulatedSystems and graphics on: pkgs throws
    # when touched, and with it every other system's set (through pkgs.path).
    disabled-reads-no-package = {
      expr =
        let
          result = lib.evalModules {
            modules = [
              module
              ./nixos-options.nix
              {
                _module.args.pkgs = throw "a package set was read with programs.rld.enable = false";
                boot.binfmt.emulatedSystems = binfmt;
                hardware.graphics.enable = true;
              }
            ];
          };
        in
        (builtins.tryEval (builtins.deepSeq (removeAttrs result.config [ "programs" ]) true)).success;
      expected = true;
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

    # extraLibraryPaths follow the library directory, in order, in the
    # loader's configuration (and the variable, when asked for).
    extra-library-paths = {
      expr = {
        inherit (extraPaths) ldso;
        variable = extraPaths.sessionVariables.NIX_LD_LIBRARY_PATH;
      };
      expected = {
        ldso = loader64 [
          "/run/opengl-driver/lib"
          "/opt/vendor/lib"
        ];
        variable = "${sw}/share/rld/lib:/run/opengl-driver/lib:/opt/vendor/lib";
      };
    };
    # As documented: the 32-bit and emulated loaders (and variables) leave
    # them out.
    extra-library-paths-native-only = {
      expr =
        let
          e = eval {
            rld = {
              enable = true;
              enable32Bit = true;
              setSessionVariables = true;
              extraLibraryPaths = [ "/opt/vendor/lib" ];
            };
            binfmt = [ "aarch64-linux" ];
          };
        in
        {
          inherit (e) ldso ldso32;
          tmpfiles = builtins.elemAt e.tmpfiles 1;
          variable32 = e.sessionVariables.NIX_LD_LIBRARY_PATH_i686_linux;
        };
      expected = {
        ldso = loader64 [ "/opt/vendor/lib" ];
        ldso32 = loader32 [ ];
        tmpfiles = "L+ /lib/ld-linux-aarch64.so.1 - - - - ${emulatedLoader rld64 "aarch64-linux"}";
        variable32 = "${sw}/share/rld32/lib";
      };
    };
    extra-library-paths-colon-rejected = {
      expr = (builtins.tryEval (builtins.deepSeq colonInPath.ldso true)).success;
      expected = false;
    };

    # setSessionVariables = false: no variables, and the extraLibraryPaths
    # still reach every program, through the loader's configuration.
    no-session-variables = {
      expr = {
        inherit (noSession) ldso sessionVariables warnings;
      };
      expected = {
        ldso = loader64 [ "/run/opengl-driver/lib" ];
        sessionVariables = { };
        warnings = [ ];
      };
    };

    # Services get a variable rld can lend (nothing else: it configures
    # nothing), unless turned off.
    service-variable = {
      expr = [
        (eval { rld = { enable = true; }; }).serviceEnvironment
        (eval { rld = { enable = true; serviceVariable = false; }; }).serviceEnvironment
        (eval { rld = { }; }).serviceEnvironment
      ];
      expected = [{ RLD_SERVICE = "1"; } { } { }];
    };

    # With nix-ld also enabled, an assertion says what to change.
    nix-ld-conflict = {
      expr = map (hasInfix "Set programs.nix-ld.enable = false") withNixLd.failedAssertions;
      expected = [ true ];
    };

    # So does the nix-ld flake's older module, programs.nix-ld.dev; declared
    # but off, it is no conflict.
    nix-ld-dev-conflict = {
      expr = map (e: map (hasInfix "Set programs.nix-ld.dev.enable = false") e.failedAssertions) [
        (nixLdDev true)
        (nixLdDev false)
      ];
      expected = [ [ true ] [ ] ];
    };

    # enable32Bit on x86_64: the i686 loader at ldso32, its own directory
    # with the i686 ld.so, and the i686 variables.
    bits32-ldso = {
      expr = {
        inherit (bits32) ldso ldso32 pathsToLink;
      };
      expected = {
        ldso = loader64 [ ];
        ldso32 = loader32 [ ];
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
        ldso32 = loader32 [ ];
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
          pkgs.libxml2_13 # libxml2.so.2, for programs built against libxml2 before 2.14; only where pkgs has it and it is available
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
      expr = builtins.removeAttrs withLdconfig [ "tmpfilesRules" "tmpfiles" "options" ];
      expected = builtins.removeAttrs enabled [ "tmpfilesRules" "tmpfiles" "options" ];
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

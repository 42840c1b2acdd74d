# programs.rld: run unpatched binaries built for other Linux distributions.
#
# Installs rld-loader at the FHS ELF interpreter path (through
# environment.ldso, which also replaces the stub-ld message), links a default
# library directory with an `ld.so` into the system profile where the loader
# looks when no variable is set, installs a copy of the loader configured with
# this generation's ld.so and library path, and on request sets the nix-ld
# compatible NIX_LD* session variables. For foreign systems run through
# binfmt/qemu-user (programs.rld.emulatedSystems) it does the same with each
# system's own loader, prefix and package set.
{ config
, lib
, pkgs
, ...
}:

let
  cfg = config.programs.rld;

  # The loaders' compiled-in default prefixes (see nix/package.nix) live in
  # the system profile, so a `nixos-rebuild switch` updates what they find
  # without rebuilding them, and running programs keep working across it.
  profile = "/run/current-system/sw";
  prefix = "/share/rld";
  prefix32 = "/share/rld32";

  # One directory holding `lib/ld.so` and every library's `lib/` entries.
  libraryDirectory =
    { name
    , prefix
    , libraries
    , dynamicLinker
    }:
    pkgs.buildEnv {
      inherit name;
      paths = map lib.getLib libraries;
      pathsToLink = [ "/lib" ];
      extraPrefix = prefix;
      # Several packages ship the same helper library; the first one wins.
      ignoreCollisions = true;
      postBuild = ''
        mkdir -p "$out${prefix}/lib"
        ln -sf ${dynamicLinker} "$out${prefix}/lib/ld.so"
      '';
    };

  libraries = libraryDirectory {
    name = "rld-libraries";
    inherit prefix;
    inherit (cfg) libraries;
    inherit (pkgs.stdenv.cc.bintools) dynamicLinker;
  };

  # A copy of `package`'s loader whose configuration area names this
  # generation's own ld.so and library path (store paths, plus raw
  # directories such as the graphics driver's): every start through it, with
  # no variable at all (a service, `env -i`, a sandbox, a setuid program),
  # uses them, and a `nixos-rebuild switch` during a start cannot mix two
  # generations, as paths through /run/current-system could.
  #
  # With `fuse` (the ld.so's own store path; programs.rld.fused), `rld fuse`
  # writes it instead, that ld.so embedded: a start whose ld.so is that path
  # (the default, or a dev shell's NIX_LD naming the same glibc) maps
  # nothing more.
  configuredLoader =
    { name
    , package
    , directory
    , prefix
    , extra ? [ ]
    , fuse ? null
    }:
    let
      libraryPath = lib.escapeShellArg (lib.concatStringsSep ":" ([ "${directory}${prefix}/lib" ] ++ extra));
    in
    pkgs.runCommand name { } (
      if fuse == null then ''
        ${cfg.package}/bin/rld configure-loader ${package}/libexec/rld-loader --ld-so ${directory}${prefix}/lib/ld.so --library-path ${libraryPath} --output $out
      '' else ''
        ${cfg.package}/bin/rld fuse ${package}/libexec/rld-loader --ld-so ${fuse} --library-path ${libraryPath} --output $out
      ''
    );

  graphics32 = cfg.enable32Bit && (config.hardware.graphics.enable32Bit or false);

  loader = configuredLoader {
    name = if cfg.fused then "rld-loader-fused" else "rld-loader-configured";
    package = if cfg.fused then cfg.package.override { fused = true; } else cfg.package;
    fuse = if cfg.fused then pkgs.stdenv.cc.bintools.dynamicLinker else null;
    directory = libraries;
    inherit prefix;
    extra = cfg.extraLibraryPaths ++ lib.optional cfg.graphicsDrivers "/run/opengl-driver/lib";
  };

  loader32 = configuredLoader {
    name = "rld-loader-i686-configured";
    package = cfg.package32;
    directory = libraries32;
    prefix = prefix32;
    extra = lib.optional (cfg.graphicsDrivers && graphics32) "/run/opengl-driver-32/lib";
  };

  emulatedLoader =
    e:
    configuredLoader {
      name = "rld-loader-${e.system}-configured";
      inherit (e) package;
      directory = emulatedLibraries e;
      prefix = emulatedPrefix e.system;
    };

  # /sbin/ldconfig for programs that ask glibc's ldconfig for the library
  # list (`ldconfig -p`); see programs.rld.ldconfig.enable.
  ldconfig = pkgs.writeShellScript "ldconfig" ''exec ${cfg.package}/bin/rld ldconfig "$@"'';

  # One system of programs.rld.emulatedSystems: its glibc's ld.so and
  # libraries, from its own package set.
  emulatedLibraries =
    e:
    libraryDirectory {
      name = "rld-libraries-${e.system}";
      prefix = emulatedPrefix e.system;
      inherit (e) libraries;
      inherit (emulatedPkgs.${e.system}.stdenv.cc.bintools) dynamicLinker;
    };

  libraries32 = libraryDirectory {
    name = "rld-libraries-i686";
    prefix = prefix32;
    libraries = cfg.libraries32;
    inherit (pkgs.pkgsi686Linux.stdenv.cc.bintools) dynamicLinker;
  };

  # A package built with another compiled-in prefix would look for `ld.so`
  # where this module puts nothing: fine in a login shell (NIX_LD is set),
  # broken under `env -i`, in services and in every setuid program.
  prefixMatches = package: expected: (package.defaultPrefix or expected) == expected;

  interpreter = cfg.package.interpreterPath or "the ELF interpreter path";

  # The defaults of `libraries` (the list nix-ld uses, plus libxml2_13) and
  # `libraries32`, as attribute paths, written once: `default` looks them up
  # in a package set (packagesAt), `defaultText` shows them (packagesText).
  defaultLibraries = [
    "zlib"
    "zstd"
    "stdenv.cc.cc"
    "curl"
    "openssl"
    "attr"
    "libssh"
    "bzip2"
    "libxml2"
    "libxml2_13"
    "acl"
    "libsodium"
    "util-linux"
    "xz"
    "systemd"
  ];
  defaultLibraries32 = [
    "zlib"
    "zstd"
    "stdenv.cc.cc"
    "openssl"
    "bzip2"
    "xz"
  ];
  # Entries of the default lists that a package set may lack, each with why
  # it is there. nixpkgs' libxml2 now ships libxml2.so.16, while programs
  # built elsewhere mostly link libxml2.so.2, which nixpkgs keeps in
  # libxml2_13; an older nixpkgs, whose libxml2 is still libxml2.so.2, has
  # no libxml2_13. A nixpkgs that drops it leaves a throwing alias (or
  # nothing, with allowAliases = false); one that marks it insecure makes it
  # unavailable (meta.available). In each case the default goes on without
  # it instead of failing the system's evaluation.
  optionalLibraries = {
    libxml2_13 = "libxml2.so.2, for programs built against libxml2 before 2.14";
  };
  usable = set: name: (builtins.tryEval (set ? ${name} && (set.${name}.meta.available or true))).value;
  packagesAt =
    set: paths:
    map (path: lib.getAttrFromPath (lib.splitString "." path) set) (
      builtins.filter (path: !(optionalLibraries ? ${path}) || usable set path) paths
    );

  # Foreign architectures (programs.rld.emulatedSystems): each system's
  # interpreter path, written out as nixpkgs' ldso.nix writes out ldso32's,
  # so that the tmpfiles rules need no package set of that system.
  emulatedInterpreters = {
    "x86_64-linux" = "/lib64/ld-linux-x86-64.so.2";
    "i686-linux" = "/lib/ld-linux.so.2";
    "aarch64-linux" = "/lib/ld-linux-aarch64.so.1";
    "riscv64-linux" = "/lib/ld-linux-riscv64-lp64d.so.1";
  };
  hostSystem = pkgs.stdenv.hostPlatform.system;
  # On x86_64, i686 programs run natively: enable32Bit installs their loader.
  emulatable = system: emulatedInterpreters ? ${system} && system != hostSystem && !(pkgs.stdenv.hostPlatform.isx86_64 && system == "i686-linux");
  emulatedPrefix = system: "/share/rld-${system}";
  # NIX_LD_aarch64_linux and friends.
  systemSuffix = builtins.replaceStrings [ "-" ] [ "_" ];
  # Another system's package set as Hydra builds it natively, so that its
  # glibc and libraries come from the binary cache (a pkgsCross set would be
  # built from source), with this system's nixpkgs configuration and
  # overlays.
  pkgsFor =
    system:
    import pkgs.path {
      localSystem = { inherit system; };
      inherit (config.nixpkgs) config overlays;
    };
  # Each imported once, however often the module asks.
  emulatedPkgs = lib.genAttrs (builtins.attrNames emulatedInterpreters) pkgsFor;
  emulatedDefaultLibraries = system: if system == "i686-linux" then defaultLibraries32 else defaultLibraries;
  emulated = map
    (system: cfg.emulated.${system} // { inherit system; })
    cfg.emulatedSystems;
  packagesText =
    setText: paths:
    lib.literalExpression "[\n${
      lib.concatMapStrings (
        path:
        "  ${setText}.${path}${
          lib.optionalString (optionalLibraries ? ${path}) " # ${optionalLibraries.${path}}; only where ${setText} has it and it is available"
        }\n"
      ) paths
    }]";
in
{
  options.programs.rld = {
    enable = lib.mkEnableOption "rld, an ELF interpreter shim that lets unpatched binaries built for other Linux distributions run";

    package = lib.mkPackageOption pkgs "rld" {
      example = "inputs.rld.packages.\${pkgs.stdenv.hostPlatform.system}.rld";
    };

    package32 = lib.mkOption {
      type = lib.types.package;
      default = pkgs.pkgsi686Linux.rld.override { defaultPrefix = profile + prefix32; };
      defaultText = lib.literalExpression ''
        pkgs.pkgsi686Linux.rld.override {
          defaultPrefix = "${profile}${prefix32}";
        }
      '';
      example = lib.literalExpression ''
        inputs.rld.packages.x86_64-linux.rld-i686
      '';
      description = ''
        The i686 build of rld installed at {file}`/lib/ld-linux.so.2` when
        {option}`programs.rld.enable32Bit` is set. It must be built with
        `defaultPrefix = "${profile}${prefix32}"` so that it finds the
        32-bit {file}`ld.so` and libraries without any variable set.
      '';
    };

    libraries = lib.mkOption {
      type = lib.types.listOf lib.types.package;
      default = packagesAt pkgs defaultLibraries;
      defaultText = packagesText "pkgs" defaultLibraries;
      example = lib.literalExpression ''
        options.programs.rld.libraries.default ++ [
          pkgs.libGL
          pkgs.glib
        ]
      '';
      description = ''
        Packages whose {file}`lib` directories (the `lib` output where there
        is one) are linked into rld's default library directory,
        {file}`${profile}${prefix}/lib`. Every unpatched program finds these
        libraries, including programs started with an empty environment and
        system services.

        Setting this option replaces the default list; to add to it, write
        `options.programs.rld.libraries.default ++ [ ... ]` (with `options`
        taken from the module arguments).
      '';
    };

    libraries32 = lib.mkOption {
      type = lib.types.listOf lib.types.package;
      default = packagesAt pkgs.pkgsi686Linux defaultLibraries32;
      defaultText = packagesText "pkgs.pkgsi686Linux" defaultLibraries32;
      example = lib.literalExpression ''
        options.programs.rld.libraries32.default ++ [ pkgs.pkgsi686Linux.libGL ]
      '';
      description = ''
        i686 packages linked into the 32-bit library directory,
        {file}`${profile}${prefix32}/lib`, used when
        {option}`programs.rld.enable32Bit` is set.
      '';
    };

    extraLibraryPaths = lib.mkOption {
      type = lib.types.listOf (lib.types.strMatching "/[^:]*");
      default = [ ];
      example = [ "/opt/vendor/lib" ];
      description = ''
        Directories searched after the default library directory, for
        libraries that are not in a package. They are part of the installed
        loader's configuration, so every program finds them: login sessions,
        system services, programs started with an empty environment,
        sandboxes. (The graphics driver's directory is added by
        {option}`programs.rld.graphicsDrivers`.) A setuid program gets no
        library path at all. Only programs of this system's architecture
        search them: 32-bit programs ({option}`programs.rld.enable32Bit`) and
        those of {option}`programs.rld.emulatedSystems` do not.
      '';
    };

    graphicsDrivers = lib.mkOption {
      type = lib.types.bool;
      default = config.hardware.graphics.enable or false;
      defaultText = lib.literalExpression "config.hardware.graphics.enable";
      example = false;
      description = ''
        Whether the graphics driver's libraries are in every program's
        default library path: {file}`/run/opengl-driver/lib` and, with
        {option}`programs.rld.enable32Bit` and
        {option}`hardware.graphics.enable32Bit`,
        {file}`/run/opengl-driver-32/lib` for 32-bit programs. Downloaded
        GUI programs, games, CUDA and Electron apps load `libGL.so.1`,
        `libEGL.so.1`, `libvulkan.so.1` or `libcuda.so.1` from there at run
        time.
      '';
    };

    enable32Bit = lib.mkOption {
      type = lib.types.bool;
      default = false;
      example = true;
      description = ''
        Whether to also run 32-bit x86 binaries: installs the i686 build of
        rld ({option}`programs.rld.package32`) at {file}`/lib/ld-linux.so.2`
        through {option}`environment.ldso32`, with its own library directory
        ({option}`programs.rld.libraries32`) and, with
        {option}`programs.rld.setSessionVariables`, the
        `NIX_LD_i686_linux` and `NIX_LD_LIBRARY_PATH_i686_linux` variables.
        Only available on x86_64.
      '';
    };

    ldconfig.enable = lib.mkEnableOption ''
      {file}`/sbin/ldconfig` as `rld ldconfig`. NixOS has no
      {file}`/sbin/ldconfig`, yet Python's `ctypes.util.find_library`,
      Playwright, TensorFlow and Lutris run `/sbin/ldconfig -p` to find
      libraries. With this, `ldconfig -p` lists the libraries in rld's default
      library directory and glibc's own, in glibc's format; any other
      `ldconfig` call (rebuilding a cache, which NixOS does not have) prints
      one note and exits 0, so install scripts that run it go on. Installed
      with {option}`systemd.tmpfiles.rules`, as NixOS installs
      {option}`environment.ldso`'';

    emulatedSystems = lib.mkOption {
      type = lib.types.listOf (lib.types.enum (builtins.attrNames emulatedInterpreters));
      default = builtins.filter emulatable config.boot.binfmt.emulatedSystems;
      defaultText = lib.literalMD ''
        the systems of {option}`boot.binfmt.emulatedSystems` that rld serves
        (${lib.concatStringsSep ", " (builtins.attrNames emulatedInterpreters)}),
        except this system and, on x86_64, i686-linux
      '';
      example = [
        "aarch64-linux"
        "riscv64-linux"
      ];
      description = ''
        Foreign systems whose unpatched programs, run through qemu-user by
        {option}`boot.binfmt.emulatedSystems`, get rld: the loader built for
        each (see {option}`programs.rld.emulated.<system>.package`) is
        installed at that system's interpreter path
        ({file}`/lib/ld-linux-aarch64.so.1`,
        {file}`/lib/ld-linux-riscv64-lp64d.so.1`,
        {file}`/lib64/ld-linux-x86-64.so.2`, {file}`/lib/ld-linux.so.2`) by
        a systemd-tmpfiles rule, as {option}`environment.ldso` installs the
        native one, and finds that system's glibc {file}`ld.so` and
        {option}`programs.rld.emulated.<system>.libraries` under
        {file}`${profile}/share/rld-<system>/lib` with no variable set. With
        {option}`programs.rld.setSessionVariables`, `NIX_LD_<system>` and
        `NIX_LD_LIBRARY_PATH_<system>` name the same files. i686-linux on
        x86_64 is {option}`programs.rld.enable32Bit` instead.
      '';
    };

    emulated = lib.mkOption {
      type = lib.types.attrsOf (
        lib.types.submodule (
          { name, ... }:
          {
            options = {
              package = lib.mkOption {
                type = lib.types.package;
                default = (emulatedPkgs.${name} or (pkgsFor name)).rld.override { defaultPrefix = profile + emulatedPrefix name; };
                defaultText = lib.literalExpression ''
                  (import pkgs.path { localSystem.system = "<system>"; }).rld.override {
                    defaultPrefix = "${profile}/share/rld-<system>";
                  }
                '';
                description = ''
                  The build of rld for this system. It must be built with
                  `defaultPrefix = "${profile}/share/rld-<system>"`.
                '';
              };
              libraries = lib.mkOption {
                type = lib.types.listOf lib.types.package;
                default = packagesAt (emulatedPkgs.${name} or (pkgsFor name)) (emulatedDefaultLibraries name);
                defaultText = lib.literalMD ''
                  the default of {option}`programs.rld.libraries` (of
                  {option}`programs.rld.libraries32` for i686-linux), from
                  this system's package set
                '';
                description = ''
                  This system's packages whose {file}`lib` directories are
                  linked into {file}`${profile}/share/rld-<system>/lib`,
                  next to its glibc {file}`ld.so`.
                '';
              };
            };
          }
        )
      );
      default = { };
      example = lib.literalExpression ''
        {
          aarch64-linux.libraries = with (import pkgs.path { localSystem.system = "aarch64-linux"; }); [
            zlib
            stdenv.cc.cc
            openssl
          ];
        }
      '';
      description = ''
        The loader and libraries of each system in
        {option}`programs.rld.emulatedSystems`. By default both come from
        that system's own nixpkgs package set (`import pkgs.path {
        localSystem.system = ...; }`, with this system's
        {option}`nixpkgs.config` and {option}`nixpkgs.overlays`), whose
        glibc and libraries are in the binary cache; the rld package of a
        foreign system is built under the same binfmt emulation unless it
        is substituted.
      '';
    };

    fused = lib.mkOption {
      type = lib.types.bool;
      default = false;
      example = true;
      description = ''
        Experimental. Install a fused interpreter at the native interpreter
        path: rld-loader built with its `fused` feature, with this system's
        glibc {file}`ld.so` embedded byte for byte (`rld fuse`), so that the
        kernel maps both in the one exec and a start whose {file}`ld.so` is
        that one (the default, or a `NIX_LD` naming the same store path)
        makes no system call of rld's own, and gdb follows shared libraries
        through it (it cannot through the standard loader). Start-up was
        not measurably faster than the standard loader's in the project's
        benchmark. Any other `NIX_LD` is mapped as without this option.

        What it breaks or costs: the interpreter file is the size of rld and
        {file}`ld.so` together (about 240 KiB), rebuilt with every glibc
        change; with {option}`programs.rld.setSessionVariables`, sessions
        name {file}`ld.so` by a path under {file}`/run/current-system`,
        which is not the embedded one's, so they gain nothing; tools that
        read the interpreter file see {file}`ld.so`'s sections and symbols
        at shifted addresses (gdb works; `readelf -V` prints garbage);
        valgrind reports false errors inside {file}`ld.so`; the 32-bit and
        emulated loaders are not fused. See the README's "Benchmarks".
      '';
    };

    serviceVariable = lib.mkOption {
      type = lib.types.bool;
      default = true;
      example = false;
      description = ''
        Whether to set `RLD_SERVICE=1` in the default environment of
        systemd's system services ({option}`systemd.globalEnvironment`). It
        configures nothing: it is an environment word rld can lend to carry
        the library path to {file}`ld.so` until the program's entry (and
        then puts back). A service's environment otherwise has none (no
        `NIX_LD*`, `RLD_*` or `_`), so rld would start {file}`ld.so` by hand
        on the program, which maps the program a second time, needs glibc
        2.33's `--argv0` when `argv[0]` is not the program's path, and, as
        systemd starts services through a descriptor (`fexecve`), opens the
        program as {file}`/proc/self/exe`, where an `$ORIGIN` run path
        means {file}`/proc/self`.
      '';
    };

    setSessionVariables = lib.mkOption {
      type = lib.types.bool;
      default = false;
      example = true;
      description = ''
        Whether to also set `NIX_LD` and `NIX_LD_LIBRARY_PATH` (the
        variables nix-ld reads) in every session through
        {option}`environment.sessionVariables`, for tools that check for
        them. rld does not need them: the installed loader carries the same
        configuration, as store paths of the running system generation. Set,
        they name paths under {file}`/run/current-system`, which take
        precedence in sessions and follow a `nixos-rebuild switch` at once,
        so a program started during a switch may take its ld.so from one
        generation and its libraries from the next. Setuid programs ignore
        them either way.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = !(config.programs.nix-ld.enable or false);
        message = ''
          programs.rld.enable and programs.nix-ld.enable are both set, but only
          one ELF loader can be installed at ${interpreter}. Set
          programs.nix-ld.enable = false: rld reads the same NIX_LD and
          NIX_LD_LIBRARY_PATH variables, so dev shells written for nix-ld keep
          working; move programs.nix-ld.libraries to programs.rld.libraries.
        '';
      }
      {
        # The nix-ld flake's older module (nix-ld-rs, still pinned by many
        # configurations) installs its loader through
        # systemd.tmpfiles.packages, not environment.ldso, so its rule and
        # ours would claim the same path with no evaluation error.
        assertion = !(config.programs.nix-ld.dev.enable or false);
        message = ''
          programs.rld.enable and programs.nix-ld.dev.enable (the nix-ld
          flake's module) are both set, but only one ELF loader can be
          installed at ${interpreter}. Set programs.nix-ld.dev.enable = false
          or remove that module: rld reads the same NIX_LD and
          NIX_LD_LIBRARY_PATH variables; move programs.nix-ld.dev.libraries to
          programs.rld.libraries.
        '';
      }
      {
        assertion = !cfg.enable32Bit || pkgs.stdenv.hostPlatform.isx86_64;
        message = ''
          programs.rld.enable32Bit installs an i686 loader at
          /lib/ld-linux.so.2, which NixOS supports only on x86_64 (this system
          is ${pkgs.stdenv.hostPlatform.system}). Set
          programs.rld.enable32Bit = false.
        '';
      }
      {
        assertion = prefixMatches cfg.package (profile + prefix);
        message = ''
          programs.rld.package was built with defaultPrefix =
          "${cfg.package.defaultPrefix or ""}", but this module links ld.so and
          the libraries under "${profile}${prefix}". Use a package built with
          the default prefix, e.g. pkgs.rld.override { defaultPrefix =
          "${profile}${prefix}"; }.
        '';
      }
      {
        # Only where the previous assertion holds: elsewhere package32's
        # default (pkgsi686Linux) does not evaluate.
        assertion =
          !(cfg.enable32Bit && pkgs.stdenv.hostPlatform.isx86_64)
            || prefixMatches cfg.package32 (profile + prefix32);
        message = ''
          programs.rld.package32 was built with defaultPrefix =
          "${cfg.package32.defaultPrefix or ""}", but this module links the
          32-bit ld.so and libraries under "${profile}${prefix32}". Use
          pkgs.pkgsi686Linux.rld.override { defaultPrefix =
          "${profile}${prefix32}"; }.
        '';
      }
    ]
    ++ map
      (system: {
        assertion = emulatable system;
        message = ''
          programs.rld.emulatedSystems contains ${system}, which ${
            if system == hostSystem then "is this system" else "runs natively on x86_64"
          }. Remove it from programs.rld.emulatedSystems${
            lib.optionalString (system != hostSystem) " and set programs.rld.enable32Bit = true"
          }.
        '';
      })
      cfg.emulatedSystems
    ++ map
      (e: {
        # Checked only for the systems that emulatable allows; others fail
        # the assertion above.
        assertion = !(emulatable e.system) || prefixMatches e.package (profile + emulatedPrefix e.system);
        message = ''
          programs.rld.emulated.${e.system}.package was built with defaultPrefix =
          "${e.package.defaultPrefix or ""}", but this module links that
          system's ld.so and libraries under "${profile}${emulatedPrefix e.system}".
          Use a package built with defaultPrefix = "${profile}${emulatedPrefix e.system}".
        '';
      })
      emulated;

    environment.ldso = "${loader}";
    environment.ldso32 = lib.mkIf cfg.enable32Bit "${loader32}";

    # The package also brings the `rld` diagnostic tool.
    environment.systemPackages = [
      cfg.package
      libraries
    ]
    ++ lib.optional cfg.enable32Bit libraries32
    ++ map emulatedLibraries emulated;
    environment.pathsToLink = [ prefix ] ++ lib.optional cfg.enable32Bit prefix32 ++ map emulatedPrefix cfg.emulatedSystems;

    # An entry for every emulated system, so that its defaults apply.
    programs.rld.emulated = lib.genAttrs cfg.emulatedSystems (_: { });

    # The foreign loaders at their interpreter paths, the way nixpkgs'
    # ldso.nix installs environment.ldso (`L+` replaces whatever is there).
    systemd.tmpfiles.rules = lib.unique
      (
        lib.concatMap
          (e: [
            "d ${dirOf emulatedInterpreters.${e.system}} 0755 root root - -"
            "L+ ${emulatedInterpreters.${e.system}} - - - - ${emulatedLoader e}"
          ])
          emulated
      )
    # /sbin/ldconfig, a link as NixOS links /lib64/ld-linux-x86-64.so.2:
    # created at boot and updated by every switch (L+ replaces what is there).
    ++ lib.optional cfg.ldconfig.enable "L+ /sbin/ldconfig - - - - ${ldconfig}";


    systemd.globalEnvironment = lib.mkIf cfg.serviceVariable { RLD_SERVICE = "1"; };

    environment.sessionVariables = lib.mkIf cfg.setSessionVariables (
      {
        NIX_LD = "${profile}${prefix}/lib/ld.so";
        NIX_LD_LIBRARY_PATH = lib.concatStringsSep ":" (
          [ "${profile}${prefix}/lib" ] ++ cfg.extraLibraryPaths ++ lib.optional cfg.graphicsDrivers "/run/opengl-driver/lib"
        );
      }
      // lib.optionalAttrs cfg.enable32Bit {
        # Without these, 32-bit programs would take NIX_LD (skipped: wrong
        # architecture) and search the 64-bit NIX_LD_LIBRARY_PATH.
        NIX_LD_i686_linux = "${profile}${prefix32}/lib/ld.so";
        NIX_LD_LIBRARY_PATH_i686_linux = lib.concatStringsSep ":" (
          [ "${profile}${prefix32}/lib" ] ++ lib.optional (cfg.graphicsDrivers && graphics32) "/run/opengl-driver-32/lib"
        );
      }
      // lib.listToAttrs (
        lib.concatMap
          (system: [
            # As for i686: without them a foreign program would search the
            # native NIX_LD_LIBRARY_PATH instead of its own directory.
            (lib.nameValuePair "NIX_LD_${systemSuffix system}" "${profile}${emulatedPrefix system}/lib/ld.so")
            (lib.nameValuePair "NIX_LD_LIBRARY_PATH_${systemSuffix system}" "${profile}${emulatedPrefix system}/lib")
          ])
          cfg.emulatedSystems
      )
    );
  };

  meta.maintainers = [ ];
}

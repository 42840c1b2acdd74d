{
  description = "rld: run unpatched Linux binaries on NixOS (a nix-ld compatible ELF interpreter shim)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;

      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "i686-linux"
        "riscv64-linux"
      ];
      # VM tests need a 64-bit host that NixOS tests run on.
      vmTestSystems = [
        "x86_64-linux"
        "aarch64-linux"
      ];

      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # The i686 loader for x86_64 systems, built with the prefix under which
      # nixos-module/rld.nix links the 32-bit ld.so and libraries (an
      # assertion there catches a mismatch).
      rldI686 =
        pkgs:
        pkgs.pkgsi686Linux.callPackage ./nix/package.nix {
          defaultPrefix = "/run/current-system/sw/share/rld32";
        };
    in
    {
      packages = forAllSystems (
        pkgs:
        let
          rld = pkgs.callPackage ./nix/package.nix { };
        in
        {
          inherit rld;
          default = rld;
        }
        // lib.optionalAttrs pkgs.stdenv.hostPlatform.isx86_64 { rld-i686 = rldI686 pkgs; }
      );

      # `nix run github:rld-project/rld#rld -- doctor ./prog`: the tool
      # without installing it, which is when it is needed most (before rld
      # is enabled).
      apps = lib.genAttrs systems (
        system:
        let
          rld = {
            type = "app";
            program = lib.getExe self.packages.${system}.rld;
            meta.description = "Say why a downloaded binary will not run on NixOS, and what to add";
          };
        in
        {
          inherit rld;
          default = rld;
        }
      );

      overlays.default = final: _prev: { rld = final.callPackage ./nix/package.nix { }; };

      # The module with its packages defaulting to this flake's builds.
      nixosModules.default =
        { config
        , lib
        , pkgs
        , ...
        }:
        let
          inherit (pkgs.stdenv.hostPlatform) system;
        in
        {
          imports = [ ./nixos-module/rld.nix ];
          programs.rld.package = lib.mkDefault self.packages.${system}.rld;
          programs.rld.package32 = lib.mkDefault self.packages.${system}.rld-i686;
          # Each emulated system's own build (built natively for it, under
          # binfmt emulation unless a cache has it), with the prefix the
          # module links that system's ld.so and libraries under.
          programs.rld.emulated = lib.genAttrs config.programs.rld.emulatedSystems (emulated: {
            package = lib.mkDefault (
              self.packages.${emulated}.rld.override {
                defaultPrefix = "/run/current-system/sw/share/rld-${emulated}";
              }
            );
          });
        };
      nixosModules.rld = self.nixosModules.default;

      lib = {
        # The NIX_LD* variables for a dev shell, so unpatched programs run in
        # it with these libraries, whether the machine runs rld or nix-ld:
        #
        #   pkgs.mkShell ({ packages = [ ... ]; }
        #     // rld.lib.mkDevShellEnv pkgs { libraries = [ pkgs.zlib ]; })
        #
        # A dev shell sets the unsuffixed names, which rld reads after the
        # per-system ones; the NixOS module sets the unsuffixed names too.
        mkDevShellEnv =
          pkgs:
          { libraries ? [ ]
          , extraLibraryPaths ? [ ]
          }:
          {
            NIX_LD = pkgs.stdenv.cc.bintools.dynamicLinker;
            NIX_LD_LIBRARY_PATH = lib.concatStringsSep ":" (
              lib.optional (libraries != [ ]) (lib.makeLibraryPath libraries) ++ extraLibraryPaths
            );
          };
      };

      devShells = forAllSystems (pkgs: {
        # For working on rld itself.
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${pkgs.stdenv.hostPlatform.system}.rld ];
          packages = [
            pkgs.clippy
            pkgs.rustfmt
            pkgs.nixpkgs-fmt
            pkgs.deadnix
          ];
        };
        # The documented example: a shell in which a downloaded toolchain
        # finds libstdc++, zlib and OpenSSL.
        example = pkgs.mkShell (
          {
            packages = [ pkgs.file ];
          }
          // self.lib.mkDevShellEnv pkgs {
            libraries = [
              pkgs.stdenv.cc.cc
              pkgs.zlib
              pkgs.openssl
            ];
          }
        );
      });

      formatter = forAllSystems (pkgs: pkgs.nixpkgs-fmt);

      checks = forAllSystems (
        pkgs:
        let
          inherit (pkgs.stdenv.hostPlatform) system;
          inherit (self.packages.${system}) rld;
          test = file: import file { inherit pkgs self; };
          nixSources = lib.fileset.toSource {
            root = ./.;
            fileset = lib.fileset.unions [
              ./flake.nix
              ./nix
              ./nixos-module
            ];
          };
        in
        {
          # Builds the loader and the CLI, runs the unit tests and the install
          # check that starts the installed loader.
          inherit rld;

          clippy = rld.overrideAttrs (old: {
            pname = "rld-clippy";
            nativeBuildInputs = old.nativeBuildInputs ++ [ pkgs.clippy ];
            buildPhase = ''
              runHook preBuild
              cargo clippy --offline --workspace --all-targets -- -D warnings
              runHook postBuild
            '';
            doCheck = false;
            doInstallCheck = false;
            installPhase = "touch $out";
          });

          rustfmt =
            pkgs.runCommand "rld-rustfmt"
              {
                nativeBuildInputs = [
                  pkgs.cargo
                  pkgs.rustfmt
                ];
              }
              ''
                export HOME=$TMPDIR
                cd ${rld.src}
                cargo fmt --all --check
                touch $out
              '';

          nix-format =
            pkgs.runCommand "rld-nix-format"
              {
                nativeBuildInputs = [
                  pkgs.nixpkgs-fmt
                  pkgs.deadnix
                ];
              }
              ''
                cd ${nixSources}
                nixpkgs-fmt --check flake.nix nix nixos-module
                deadnix --fail flake.nix nix nixos-module
                touch $out
              '';

          # The module's own evaluation test, with the real lib.evalModules.
          module-eval =
            let
              result = import ./nixos-module/eval { inherit lib; };
            in
            pkgs.runCommand "rld-module-eval" { inherit result; } ''
              echo "$result"
              touch $out
            '';

          nix-ld-conflict = test ./nixos-module/tests/nix-ld-conflict.nix;

          # lib.mkDevShellEnv: the variables, and that they name real files.
          dev-shell-env =
            let
              env = self.lib.mkDevShellEnv pkgs {
                libraries = [ pkgs.zlib ];
                extraLibraryPaths = [ "/run/opengl-driver/lib" ];
              };
            in
            assert env.NIX_LD == pkgs.stdenv.cc.bintools.dynamicLinker;
            assert env.NIX_LD_LIBRARY_PATH == "${lib.getLib pkgs.zlib}/lib:/run/opengl-driver/lib";
            pkgs.runCommand "rld-dev-shell-env" env ''
              test -x "$NIX_LD"
              test -e "''${NIX_LD_LIBRARY_PATH%%:*}/libz.so.1"
              touch $out
            '';
        }
        // lib.optionalAttrs (lib.elem system vmTestSystems) {
          unpatched-binary = test ./nixos-module/tests/unpatched-binary.nix;
          no-session-variables = test ./nixos-module/tests/no-session-variables.nix;
          library-option = test ./nixos-module/tests/library-option.nix;
          setuid-wrapper = test ./nixos-module/tests/setuid-wrapper.nix;
          ldconfig = test ./nixos-module/tests/ldconfig.nix;
          graphics-drivers = test ./nixos-module/tests/graphics-drivers.nix;
        }
        # An x86_64 machine emulating aarch64 (binfmt, qemu-user).
        // lib.optionalAttrs (system == "x86_64-linux") {
          emulated-aarch64 = test ./nixos-module/tests/emulated-aarch64.nix;
        }
      );
    };
}

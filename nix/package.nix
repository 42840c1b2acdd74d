# The rld package: the loader (installed at $out/libexec/rld-loader) and, once
# the workspace has it, the `rld` command-line tool (in $out/bin).
#
# Callable from nixpkgs (`pkgs.callPackage ./nix/package.nix { }`) and for
# 32-bit x86 (`pkgs.pkgsi686Linux.callPackage`): the loader is built for
# whatever `stdenv.hostPlatform` is.
#
# `defaultPrefix` is where the loader looks for `lib/ld.so` and its default
# library directory when no NIX_LD* variable applies (always, for setuid
# programs). The NixOS module links those files there; it installs the i686
# loader with another prefix so that the two never share an `ld.so`.
{ lib
, stdenv
, rustPlatform
, defaultPrefix ? "/run/current-system/sw/share/rld"
}:

let
  workspace = lib.importTOML ../Cargo.toml;

  # The command-line tool (`cli/`) is built when the workspace has it.
  hasCli = builtins.pathExists ../cli/Cargo.toml;

  # The path the kernel asks for in this platform's binaries, e.g.
  # /lib64/ld-linux-x86-64.so.2: where the loader has to be installed.
  interpreterPath = "/${stdenv.hostPlatform.libDir}/${
    builtins.unsafeDiscardStringContext (baseNameOf stdenv.cc.bintools.dynamicLinker)
  }";
in
assert lib.assertMsg (lib.hasPrefix "/" defaultPrefix && !(lib.hasInfix ":" defaultPrefix))
  "rld: defaultPrefix must be an absolute path without ':', got ${defaultPrefix}";
rustPlatform.buildRustPackage {
  pname = "rld";
  inherit (workspace.workspace.package) version;

  src = lib.fileset.toSource {
    root = ../.;
    # Every workspace member has to be present for cargo to read the
    # workspace, even the ones that are not built here.
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../loader
      ../shim-lib
      ../tests
      (lib.fileset.maybeMissing ../cli)
      (lib.fileset.maybeMissing ../.cargo)
    ];
  };

  cargoLock.lockFile = ../Cargo.lock;

  cargoBuildFlags = [ "-p" "rld-loader" ];

  # The CLI is built by a second cargo run: cargo unifies dependency features
  # across the packages of one run, and the CLI's `log/std` (env_logger needs
  # it) would link std into the no_std loader (duplicate `panic_impl`).
  postBuild = lib.optionalString hasCli ''
    cargo build --offline -j $NIX_BUILD_CORES \
      --target ${stdenv.hostPlatform.rust.rustcTargetSpec} \
      --profile ''${cargoBuildType:-release} -p rld
  '';

  # The unit tests (`--lib --bins`). The end-to-end tests (`rld-tests`, the
  # CLI's `tests/`) are left out: they need /lib64, root and setuid files,
  # which the build sandbox lacks; the NixOS VM tests in the flake's `checks`
  # cover that ground instead.
  cargoTestFlags = [ "-p" "rld-shim" ] ++ lib.optionals hasCli [ "-p" "rld" ] ++ [ "--lib" "--bins" ];

  env.RLD_DEFAULT_PREFIX = defaultPrefix;

  postInstall = ''
    mkdir -p $out/libexec $out/nix-support
    mv $out/bin/rld-loader $out/libexec/rld-loader
    rmdir --ignore-fail-on-non-empty $out/bin
    echo ${interpreterPath} > $out/nix-support/ldpath
  '';

  # Runs after fixupPhase (strip, patchelf), on the file that is installed:
  # proves the loader is still a self-contained executable (no PT_INTERP) and
  # that it starts this stdenv's real glibc ld.so.
  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    loader=$out/libexec/rld-loader
    if ''${READELF:-readelf} -lW "$loader" | grep -q 'INTERP'; then
      echo "rld-loader has a PT_INTERP header; it must be a static-pie" >&2
      exit 1
    fi
    NIX_LD=${stdenv.cc.bintools.dynamicLinker} "$loader" --version > version.txt
    cat version.txt
    grep -q '^rld-loader ${workspace.workspace.package.version} (rld)' version.txt
    runHook postInstallCheck
  '';

  passthru = {
    inherit defaultPrefix interpreterPath;
  };

  meta = {
    description = "ELF interpreter shim that lets unpatched Linux binaries run on NixOS";
    longDescription = ''
      rld-loader is installed at the standard ELF interpreter path
      (e.g. /lib64/ld-linux-x86-64.so.2). It starts the glibc ld.so named by
      NIX_LD (nix-ld compatible) or by its compiled-in default, with the
      library directories named by NIX_LD_LIBRARY_PATH, so binaries built for
      other distributions run without patching.
    '';
    homepage = workspace.workspace.package.repository;
    license = lib.licenses.mit;
    platforms = [
      "x86_64-linux"
      "i686-linux"
      "aarch64-linux"
    ];
  }
  // lib.optionalAttrs hasCli { mainProgram = "rld"; };
}

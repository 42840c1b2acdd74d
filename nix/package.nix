# The rld package: the loader (installed at $out/libexec/rld-loader) and the
# `rld` command-line tool ($out/bin/rld).
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
    # workspace, even `tests`, which is not built here.
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../.cargo
      ../loader
      ../shim-lib
      ../cli
      ../tests
    ];
  };

  cargoLock.lockFile = ../Cargo.lock;

  # One cargo run for both: cargo unifies dependency features across the
  # packages it builds, which is harmless only because no crate in the
  # workspace enables `log/std` (see ../Cargo.toml); with it, std would be
  # linked into the no_std loader.
  cargoBuildFlags = [ "-p" "rld-loader" "-p" "rld" ];

  # The unit tests (`--lib --bins`). The end-to-end tests (`rld-tests`, the
  # CLI's `tests/`) are left out: they need /lib64, root and setuid files,
  # which the build sandbox lacks; the NixOS VM tests in the flake's `checks`
  # cover that ground instead.
  cargoTestFlags = [ "-p" "rld-shim" "-p" "rld" "--lib" "--bins" ];

  env.RLD_DEFAULT_PREFIX = defaultPrefix;

  postInstall = ''
    mkdir -p $out/libexec $out/nix-support
    mv $out/bin/rld-loader $out/libexec/rld-loader
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
      "riscv64-linux"
    ];
    mainProgram = "rld";
  };
}

# nixpkgs' lib for the evaluation test when no lib is passed in: the lib/
# directory named by NIXPKGS_LIB, or else the unmodified copy beside the
# project, ../shared/nixpkgs-lib/lib (see its SOURCE.md). Never a copy
# inside the repository.
let
  fromEnv = builtins.getEnv "NIXPKGS_LIB";
  dir =
    if fromEnv == "" then
      ../../../shared/nixpkgs-lib/lib
    else if builtins.substring 0 1 fromEnv == "/" then
      /. + fromEnv
    else
      throw "nixos-module/eval: NIXPKGS_LIB must be an absolute path, got '${fromEnv}'";
in
if builtins.pathExists (dir + "/default.nix") then
  import dir
else
  throw ''
    nixos-module/eval: no nixpkgs lib at ${toString dir}.
    Set NIXPKGS_LIB to a nixpkgs lib/ directory, or put an unmodified nixpkgs
    lib/ at shared/nixpkgs-lib/lib beside the project.''

# `import pkgs.path { localSystem = { system = ...; }; config; overlays; }`
# for the placeholder package sets of fake-pkgs.nix. Every argument is
# required, as the module has to pass the system's nixpkgs settings on.
{ localSystem
, config
, overlays
}:
assert builtins.isAttrs config && builtins.isList overlays;
(import ./fake-pkgs.nix).forSystem localSystem.system

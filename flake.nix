{
  description = "agents — run and supervise a fleet of AI coding-agent sessions in tmux";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAll (pkgs: {
        default = pkgs.rustPlatform.buildRustPackage {
          pname = "agent-orchestrator";
          version = "0.1.0";
          src = self;
          cargoLock.lockFile = ./Cargo.lock;
          nativeBuildInputs = [ pkgs.pkg-config ];
          nativeCheckInputs = [ pkgs.tmux pkgs.git pkgs.python3 ];
          # The integration tests start tmux servers; run them with `cargo test` in the devShell.
          doCheck = false;
        };
      });

      # `nix develop -c ./smoke.sh` runs the smoke test with these tools.
      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.cargo
            pkgs.rustc
            pkgs.rustfmt
            pkgs.clippy
            pkgs.tmux
            pkgs.git
            pkgs.python3
            pkgs.nodejs_20   # npm for the end-to-end tests' real agent CLIs
            pkgs.bash
            pkgs.coreutils
          ];
        };
      });
    };
}

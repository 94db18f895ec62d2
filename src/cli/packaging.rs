//! What packagers and shells take from the command line's own definitions: `engine --version`
//! (the engine's, the OCSF version it maps to and the git revision it was built from),
//! `engine completions bash|zsh|fish` and `engine man` (roff pages).

use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

/// `0.1.0 (OCSF 1.5.0, git 0123456789ab)`; the revision is `unknown` for a build outside git.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        format!(
            "{} (OCSF {}, git {})",
            env!("CARGO_PKG_VERSION"),
            crate::ocsf::OCSF_VERSION,
            env!("ENGINE_GIT_REVISION")
        )
    })
}

/// The whole command line, as clap defines it, with the long version.
pub fn command() -> clap::Command {
    super::Cli::command().version(version())
}

/// The shells completions are generated for.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell: `engine completions bash > /etc/bash_completion.d/engine`,
    /// `engine completions zsh > "${fpath[1]}/_engine"`,
    /// `engine completions fish > ~/.config/fish/completions/engine.fish`.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Write one page per command (`engine.1`, `engine-run.1`, …) into this directory instead
    /// of printing `engine.1` on standard output.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Prints the completion script of `args.shell` on standard output.
pub fn completions(args: CompletionsArgs) -> ExitCode {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "engine", &mut script);
    let _ = std::io::stdout().lock().write_all(&script);
    ExitCode::SUCCESS
}

/// Prints the man page (or writes every command's into `--dir`).
pub fn man(args: ManArgs) -> ExitCode {
    let cmd = command();
    match args.dir {
        None => {
            let mut page = Vec::new();
            if let Err(e) = clap_mangen::Man::new(cmd).render(&mut page) {
                eprintln!("engine man: {e}");
                return ExitCode::from(super::load::EXIT_RUNTIME);
            }
            let _ = std::io::stdout().lock().write_all(&page);
            ExitCode::SUCCESS
        }
        Some(dir) => match std::fs::create_dir_all(&dir).and_then(|()| clap_mangen::generate_to(cmd, &dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("engine man: cannot write the pages into `{}`: {e}", dir.display());
                ExitCode::from(super::load::EXIT_RUNTIME)
            }
        },
    }
}

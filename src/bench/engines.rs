//! The engines a benchmark compares: `--engine interp|jit|both`, and preparing a program for
//! one (the JIT's compile time is reported on its own).

use super::compile::Subject;
use nftvm_vm::{Engine, Executable};
use std::sync::Arc;
use std::time::Instant;

/// The engines `--engine` names, in report order.
pub fn parse_engines(name: &str) -> Result<Vec<Engine>, String> {
    match name {
        "both" => Ok(Engine::ALL.to_vec()),
        other => other.parse::<Engine>().map(|e| vec![e]).map_err(|e| format!("--engine: {e}, or `both`")),
    }
}

/// A subject ready to run on one engine.
#[derive(Debug)]
pub struct Prepared {
    pub exe: Executable,
    /// Wall time of the JIT compilation (None for the interpreter), milliseconds.
    pub jit_compile_ms: Option<f64>,
}

/// Prepares `subject` for `engine`.
pub fn prepare(subject: &Subject, engine: Engine) -> Result<Prepared, String> {
    let started = Instant::now();
    let exe = Executable::new(Arc::clone(&subject.prog), engine).map_err(|e| e.to_string())?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(Prepared { exe, jit_compile_ms: (engine == Engine::Jit).then_some(ms) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_names() {
        assert_eq!(parse_engines("both"), Ok(vec![Engine::Interp, Engine::Jit]));
        assert_eq!(parse_engines("jit"), Ok(vec![Engine::Jit]));
        assert!(parse_engines("fast").is_err());
    }
}

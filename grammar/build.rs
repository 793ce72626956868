//! Generates the lalrpop parsers into OUT_DIR (never committed).
fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .emit_rerun_directives(true)
        .process()
        .expect("lalrpop grammar generation failed");
}

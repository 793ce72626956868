//! Generates the lalrpop parsers into OUT_DIR (never committed).
fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .emit_rerun_directives(true)
        .process()
        .expect("lalrpop grammar generation failed");
    // lalrpop only names the grammars that exist now; watching `src` also catches a grammar
    // added later (regeneration is skipped when a grammar's hash is unchanged).
    println!("cargo:rerun-if-changed=src");
}

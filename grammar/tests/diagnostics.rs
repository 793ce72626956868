//! Diagnostics of the nft parser: exact rendered text (nft's format) and error recovery.

use nftvm_grammar::{SourceMap, diag::render_all, nft};

fn errors(text: &str) -> String {
    let mut sm = SourceMap::new();
    match nft::parse_str(&mut sm, "rules.nft", text) {
        Ok(_) => String::new(),
        Err(d) => render_all(&d, &sm),
    }
}

#[test]
fn unexpected_token_names_what_was_expected() {
    assert_eq!(
        errors("table ip t {\n\tset s {\n\t\tflags\n\t}\n}\n"),
        "rules.nft:3:8-8: Error: syntax error, unexpected newline, expecting string or variable or timeout\n\
         \t\tflags\n\
         \t\t     ^\n"
    );
}

#[test]
fn short_expected_lists_are_named() {
    assert_eq!(
        errors("add rule ip t c tcp dport 22 }\n"),
        "rules.nft:1:30-30: Error: syntax error, unexpected '}', expecting newline or ';'\n\
         add rule ip t c tcp dport 22 }\n\
         \x20                            ^\n"
    );
}

#[test]
fn long_expected_lists_are_left_out() {
    assert_eq!(
        errors("add }\n"),
        "rules.nft:1:5-5: Error: syntax error, unexpected '}'\n\
         add }\n\
         \x20   ^\n"
    );
}

#[test]
fn several_errors_in_one_file_are_all_reported() {
    let text = "table ip t {\n\
                \tchain c {\n\
                \t\tcounter packets\n\
                \t\tip saddr 1.2.3.4 drop\n\
                \t\tjump\n\
                \t}\n\
                \tset s {\n\
                \t\ttype ipv4_addr\n\
                \t\tsize\n\
                \t}\n\
                }\n\
                add rule ip t c tcp dport { 22, 80 accept\n\
                add chain ip t d\n\
                define\n";
    assert_eq!(
        errors(text),
        "rules.nft:3:18-18: Error: syntax error, unexpected newline\n\
         \t\tcounter packets\n\
         \t\t               ^\n\
         rules.nft:5:7-7: Error: syntax error, unexpected newline\n\
         \t\tjump\n\
         \t\t    ^\n\
         rules.nft:9:7-7: Error: syntax error, unexpected newline\n\
         \t\tsize\n\
         \t\t    ^\n\
         rules.nft:13:1-3: Error: syntax error, unexpected add, expecting newline or '}' or comma\n\
         add chain ip t d\n\
         ^^^\n\
         rules.nft:14:7-7: Error: syntax error, unexpected newline\n\
         define\n\
         \x20     ^\n"
    );
}

#[test]
fn undefined_variable_is_reported_at_its_use() {
    assert_eq!(
        errors("define ports = { 22, 80 }\nadd rule ip t c tcp dport $port accept\n"),
        "rules.nft:2:27-31: Error: unknown identifier 'port'\n\
         add rule ip t c tcp dport $port accept\n\
         \x20                         ^^^^^\n"
    );
}

#[test]
fn variables_are_scoped_to_their_block() {
    let text = "table ip t {\n\tdefine inner = 1\n\tchain c {\n\t\tmeta mark $inner\n\t}\n}\nadd rule ip t c meta mark $inner\n";
    assert_eq!(
        errors(text),
        "rules.nft:7:27-32: Error: unknown identifier 'inner'\n\
         add rule ip t c meta mark $inner\n\
         \x20                         ^^^^^^\n"
    );
}

#[test]
fn junk_and_unterminated_strings() {
    assert_eq!(
        errors("add rule ip t c iifname \"eth0 accept\n"),
        "rules.nft:1:25-37: Error: syntax error, unexpected junk\n\
         add rule ip t c iifname \"eth0 accept\n\
         \x20                       ^^^^^^^^^^^^^\n"
    );
    assert_eq!(
        errors("add rule ip t c ip saddr 1.2.3.4 ~ drop\n"),
        "rules.nft:1:34-34: Error: syntax error, unexpected junk\n\
         add rule ip t c ip saddr 1.2.3.4 ~ drop\n\
         \x20                                ^\n"
    );
}

#[test]
fn missing_include_is_an_error_at_the_include() {
    assert_eq!(
        errors("include \"/nonexistent/nftvm-test.nft\"\n"),
        "rules.nft:1:1-37: Error: File not found: /nonexistent/nftvm-test.nft\n\
         include \"/nonexistent/nftvm-test.nft\"\n\
         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let text = format!("add rule ip t c meta mark {}1{}\n", "(".repeat(100_000), ")".repeat(100_000));
    assert!(errors(&text).contains("Error: nesting too deep (limit 128)"));
    let text = format!("add rule ip t c meta mark 1{}\n", " | 1".repeat(100_000));
    assert!(errors(&text).contains("Error: expression nested too deeply (limit 128)"));
    let text = format!("add rule ip t c ip saddr {}1.2.3.4{}\n", "{".repeat(5000), "}".repeat(5000));
    assert!(errors(&text).contains("Error: nesting too deep"));
}

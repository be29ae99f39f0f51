//! A configuration read from arbitrary bytes: either one error naming the file, on one
//! line, or a configuration whose schema and analysis settings build and which reads
//! back the same from the TOML it writes.
#![no_main]

use coalmine_cli::config::ConfigFile;
use coalmine_fuzz::assert_one_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = match ConfigFile::from_bytes(data, "c.toml") {
        Ok(c) => c,
        Err(e) => {
            assert_one_line(&e.to_string(), "c.toml");
            return;
        }
    };
    config
        .schema()
        .expect("a loaded configuration has a valid schema");
    config
        .analysis()
        .expect("a loaded configuration has valid analysis settings");
    let text = config.to_toml().expect("a loaded configuration serialises");
    let again = ConfigFile::from_bytes(text.as_bytes(), "again.toml")
        .unwrap_or_else(|e| panic!("the written configuration must re-read: {e}\n{text}"));
    // Written back, a `[policy]` table states both thresholds, so they count as
    // explicit; everything else must be as read.
    let again = ConfigFile {
        explicit_thresholds: config.explicit_thresholds,
        ..again
    };
    assert_eq!(again, config, "the configuration must round-trip");
});

//! A scratch directory for one test's files, removed when the test ends (pass or fail).

use std::path::PathBuf;

pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// `$TMPDIR/nftvm-SUITE-PID-NAME`, created.
    pub fn new(suite: &str, name: &str) -> ScratchDir {
        let d = std::env::temp_dir().join(format!("nftvm-{suite}-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch directory");
        ScratchDir(d)
    }

    /// The path of file `name` in it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes file `name`; its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write a scratch file");
        p
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

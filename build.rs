//! Rebuild when a template is added or removed: `include_dir!` only tracks
//! the files it saw, not new ones.

fn main() {
    println!("cargo:rerun-if-changed=templates");
}

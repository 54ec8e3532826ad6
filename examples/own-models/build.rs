//! Generates typed requests for every schema page under `models/`.

fn main() {
    if let Err(e) = modellix_codegen::generate_models("models") {
        println!("cargo::error=models/{e}");
        std::process::exit(1);
    }
}

#[runtime::main]
struct Server;

fn main() {}

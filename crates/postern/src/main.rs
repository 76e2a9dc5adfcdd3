fn main() {}
mod serve;

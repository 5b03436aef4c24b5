"""Tools that read the engine's graphs: gradcheck, explain, the compiler, parse, graph drawing."""

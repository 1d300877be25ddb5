"""Tools that models call: typed specs, the executor, and the tools themselves."""

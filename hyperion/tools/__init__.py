"""Developer tools: fixture readers and the state-test runner behind ``hyperion statetest``."""

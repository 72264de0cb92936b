// Lets block_linux.go declare runtime functions without bodies.

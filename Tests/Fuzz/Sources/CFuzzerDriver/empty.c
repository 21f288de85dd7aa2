/* The header is the module; SwiftPM wants a source file. */

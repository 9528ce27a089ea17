// The system zlib (Debian: zlib1g-dev; part of the macOS SDK). Nabla uses it to inflate gzip
// (`.gz` IDX files) and raw DEFLATE streams (`.npz` zip entries), and for CRC-32.
#include <zlib.h>

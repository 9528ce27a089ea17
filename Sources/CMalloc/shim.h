// glibc's allocator controls (mallopt), which the Glibc Swift module does not export.
#include <malloc.h>

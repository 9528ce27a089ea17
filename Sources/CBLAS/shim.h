// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). Every matrix product in Nabla goes through here.
#include <cblas.h>
// OpenBLAS extensions to pin the BLAS thread count next to our own worker threads.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
// The kernel family OpenBLAS selected when it loaded ("Haswell", "SkylakeX", ...), for benchmark reports.
char *openblas_get_corename(void);

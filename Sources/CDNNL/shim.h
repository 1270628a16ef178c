#ifndef ASCENT_CDNNL_SHIM_H
#define ASCENT_CDNNL_SHIM_H
#include <dnnl.h>

/* Debian's libdnnl 2.6 uses the OpenMP (libgomp) threading runtime and has no
   dnnl_set_max_threads; its thread count is OpenMP's, set per calling thread. */
extern void omp_set_num_threads(int);
extern int omp_get_max_threads(void);

#endif

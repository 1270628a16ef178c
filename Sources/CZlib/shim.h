#ifndef ASCENT_CZLIB_SHIM_H
#define ASCENT_CZLIB_SHIM_H
#include <zlib.h>
#endif

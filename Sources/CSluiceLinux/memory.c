// Heap trimming: malloc_trim lives in <malloc.h>, which Swift's Glibc module does not import.
#ifndef _GNU_SOURCE
#error "CSluiceLinux must be built with _GNU_SOURCE (set in Package.swift cSettings)"
#endif

#include <malloc.h>
#include "CSluiceLinux.h"

int sluice_malloc_trim(void) { return malloc_trim(0); }

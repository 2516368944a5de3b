#include "kernel_support.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
void cuentista_flush_denormals(void) {
    /* FTZ (bit 15) and DAZ (bit 6) of MXCSR. */
    _mm_setcsr(_mm_getcsr() | 0x8040);
}
#elif defined(__aarch64__)
void cuentista_flush_denormals(void) {
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    fpcr |= (1UL << 24); /* FZ */
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
}
#else
void cuentista_flush_denormals(void) {}
#endif

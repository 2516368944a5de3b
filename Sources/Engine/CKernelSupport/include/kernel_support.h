#ifndef CUENTISTA_KERNEL_SUPPORT_H
#define CUENTISTA_KERNEL_SUPPORT_H

/// Makes the calling thread flush denormal results and inputs to zero. Tiny values far
/// below anything a float32 model can resolve otherwise cost ~100 cycles per operation.
void cuentista_flush_denormals(void);

#endif

/*
 * Shared definitions of the kernel module.
 *
 * The module is compiled freestanding for wasm32 and instantiated on the memory of
 * tfjs-backend-wasm (it imports that memory), so tensors are read and written in place. It owns
 * no static data: every buffer it uses (packing panels, scratch tiles, its shadow stack) lives in
 * a workspace the JavaScript side allocates with the backend's own malloc.
 */
#ifndef DINO_KERNELS_COMMON_H
#define DINO_KERNELS_COMMON_H

#include <wasm_simd128.h>
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name))) 
#define INLINE static inline __attribute__((always_inline))

typedef float f32;
typedef int32_t i32;

INLINE int imin(int a, int b) { return a < b ? a : b; }
INLINE int imax(int a, int b) { return a > b ? a : b; }

/* gemm.c: C[M,N] = op(A) op(B) (+ bias[N]), strided operands; the product every other kernel
 * that multiplies matrices goes through, so they all round alike (attention.c). */
void gemm_one(int M, int N, int K, const f32 *a, int ars, int acs, const f32 *b, int brs, int bcs,
              f32 *c, int ldc, f32 *ws, const f32 *bias);

#endif
